"""The loss covers exactly the assistant tokens (tool calls, replies, end-of-turn) and nothing else.

Checked on the labels SFTTrainer actually trains on, against assistant segments written out here by hand from the
trajectory messages, independently of the chat template.
"""

import dataclasses
import json

import pytest
import torch

from train.phases import PhaseStart, build_trainer
from train.toolcall import parse_tool_calls

IGNORE = -100


def expected_assistant_segments(messages: list[dict]) -> list[str]:
    segments = []
    for message in messages:
        if message["role"] != "assistant":
            continue
        calls = [
            '<tool_call>\n{"name": "%s", "arguments": %s}\n</tool_call>' % (c["function"]["name"], c["function"]["arguments"])
            for c in message.get("tool_calls") or []
        ]
        parts = ([message["content"]] if message["content"] else []) + calls
        segments.append("\n".join(parts) + "<|im_end|>")
    return segments


def supervised_spans(input_ids: list[int], labels: list[int]) -> list[tuple[int, int]]:
    spans, start = [], None
    for index, label in enumerate(labels + [IGNORE]):
        if label != IGNORE and start is None:
            start = index
        elif label == IGNORE and start is not None:
            spans.append((start, index))
            start = None
    return spans


def make_trainer(tiny_setup, tmp_path, phase=1, **data_overrides):
    config, split, base_path = tiny_setup
    config = dataclasses.replace(
        config, output_dir=str(tmp_path), data=dataclasses.replace(config.data, **data_overrides)
    )
    dataset = split.general if phase == 1 else split.vertical
    trainer = build_trainer(config, phase, dataset, PhaseStart(base_path, base_path, None))
    return trainer, dataset


@pytest.mark.parametrize("phase", [1, 2])
def test_labels_cover_exactly_the_assistant_turns(tiny_setup, tmp_path, phase):
    trainer, dataset = make_trainer(tiny_setup, tmp_path, phase=phase)
    tokenizer = trainer.processing_class
    assert len(trainer.train_dataset) == len(dataset)
    for row, conversation in zip(trainer.train_dataset, dataset):
        input_ids, labels = row["input_ids"], row["labels"]
        spans = supervised_spans(input_ids, labels)
        decoded = [tokenizer.decode(input_ids[a:b], skip_special_tokens=False) for a, b in spans]
        assert decoded == expected_assistant_segments(conversation["messages"])
        for a, b in spans:
            # Supervised tokens predict themselves (TRL shifts inside the loss), and the turn header is context.
            assert labels[a:b] == input_ids[a:b]
            assert tokenizer.decode(input_ids[:a], skip_special_tokens=False).endswith("<|im_start|>assistant\n")
        # Everything else stays in the context, unsupervised: system prompt, tool schemas, user turns, tool results.
        full_text = tokenizer.decode(input_ids, skip_special_tokens=False)
        for message in conversation["messages"]:
            if message["role"] != "assistant":
                assert message["content"] in full_text
        assert '"name": "search_books", "description"' in full_text or '"name": "get_order", "description"' in full_text


def test_loss_on_all_supervises_every_token_of_the_same_conversations(tiny_setup, tmp_path):
    """data.loss_on=all (for models trained from scratch): the same tokens, every one of them labelled."""
    assistant, _ = make_trainer(tiny_setup, tmp_path / "assistant")
    everything, _ = make_trainer(tiny_setup, tmp_path / "all", loss_on="all")
    assert len(everything.train_dataset) == len(assistant.train_dataset)
    for masked, full in zip(assistant.train_dataset, everything.train_dataset):
        assert full["input_ids"] == masked["input_ids"]
        labels = full.get("labels") or full["input_ids"]  # without an assistant mask TRL labels the inputs
        assert labels == full["input_ids"] and IGNORE not in labels
        assert supervised_spans(masked["input_ids"], masked["labels"])  # and the default still masks


def test_supervised_segments_parse_back_to_the_trajectory_tool_calls(tiny_setup, tmp_path):
    trainer, dataset = make_trainer(tiny_setup, tmp_path)
    tokenizer = trainer.processing_class
    row, conversation = trainer.train_dataset[0], dataset[0]
    spans = supervised_spans(row["input_ids"], row["labels"])
    assistant_messages = [m for m in conversation["messages"] if m["role"] == "assistant"]
    for (a, b), message in zip(spans, assistant_messages, strict=True):
        parsed = parse_tool_calls(tokenizer.decode(row["input_ids"][a:b], skip_special_tokens=False))
        expected = [(c["function"]["name"], c["function"]["arguments"]) for c in message.get("tool_calls") or []]
        assert [(c.name, c.arguments) for c in parsed.tool_calls] == [(n, json.loads(a)) for n, a in expected]
        assert parsed.content == message["content"]


def test_packing_keeps_the_same_supervised_tokens(tiny_setup, tmp_path):
    plain, _ = make_trainer(tiny_setup, tmp_path / "plain")
    packed, _ = make_trainer(tiny_setup, tmp_path / "packed", packing=True, max_length=1024)
    assert len(packed.train_dataset) < len(plain.train_dataset)

    def segments(trainer):
        found = []
        for row in trainer.train_dataset:
            found += [tuple(row["input_ids"][a:b]) for a, b in supervised_spans(row["input_ids"], row["labels"])]
        return sorted(found)

    assert segments(packed) == segments(plain)


def test_packed_sequences_do_not_attend_to_each_other(tiny_setup, tmp_path):
    # Padding-free packing relies on position_ids resets; on CPU (SDPA) transformers must turn them into a
    # block-diagonal mask, otherwise a conversation would see the one packed before it.
    trainer, _ = make_trainer(tiny_setup, tmp_path, packing=True, max_length=1024)
    batch = next(iter(trainer.get_train_dataloader()))
    model = trainer.model.eval()
    starts = (batch["position_ids"][0] == 0).nonzero().flatten().tolist() + [batch["input_ids"].shape[1]]
    assert len(starts) > 2, "the batch should hold several packed conversations"
    with torch.no_grad():
        packed_logits = model(input_ids=batch["input_ids"], position_ids=batch["position_ids"], use_cache=False).logits
        for a, b in zip(starts, starts[1:]):
            alone = model(input_ids=batch["input_ids"][:, a:b], use_cache=False).logits
            torch.testing.assert_close(packed_logits[:, a:b], alone, atol=1e-4, rtol=1e-4)
