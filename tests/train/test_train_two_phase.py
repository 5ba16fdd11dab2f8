"""End to end: phase 1 on the general domain, phase 2 on the vertical one from the phase-1 weights."""

import json

import pytest
import torch
from safetensors.torch import load_file
from train_testkit import tiny_config
from train_trajectories import retail_conversation

import train.modeling
from train.phases import final_dir, phase_dir, run
from train.toolcall import parse_tool_calls


@pytest.fixture(scope="module")
def two_phase_run(trajectory_dir, tmp_path_factory):
    """Train both phases long enough (on a handful of repeated conversations) for greedy decoding to emit calls.

    Every model the run loads is recorded with its initial weights, so tests can check where each phase started.
    """
    output_dir = tmp_path_factory.mktemp("two_phase")
    config = tiny_config(
        trajectory_dir, output_dir, "training.num_train_epochs=15", "phase2.learning_rate=3e-3", "training.save_steps=20"
    )
    loaded: list[dict[str, torch.Tensor]] = []
    real_load_model = train.modeling.load_model

    def recording_load_model(path, settings):
        model = real_load_model(path, settings)
        loaded.append({name: tensor.detach().clone() for name, tensor in model.state_dict().items()})
        return model

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train.modeling, "load_model", recording_load_model)
        result = run(config)
    return config, result, loaded


def test_loss_goes_down(two_phase_run):
    _, result, _ = two_phase_run
    for phase in ("1", "2"):
        losses = [entry["loss"] for entry in result["phases"][phase]["losses"]]
        assert len(losses) >= 10
        first, last = sum(losses[:3]) / 3, sum(losses[-3:]) / 3
        assert last < 0.5 * first, f"phase {phase}: loss went from {first:.3f} to {last:.3f}"


def test_phase2_starts_from_phase1_weights(two_phase_run):
    config, _, loaded = two_phase_run
    assert len(loaded) == 2
    base_weights, phase2_start = loaded
    phase1_final = load_file(str(final_dir(config.output_dir, 1) / "model.safetensors"))
    # Tied embeddings are saved once; compare every tensor that was saved.
    assert phase1_final.keys() <= phase2_start.keys()
    for name, tensor in phase1_final.items():
        torch.testing.assert_close(phase2_start[name], tensor, rtol=0, atol=0, msg=f"{name} differs")
    # And phase 1 really changed the weights, so the check above cannot pass by starting from the base model.
    changed = [name for name in phase1_final if not torch.equal(base_weights[name], phase1_final[name])]
    assert len(changed) == len(phase1_final)


def test_run_summaries_and_checkpoints(two_phase_run):
    config, result, _ = two_phase_run
    on_disk = json.loads((phase_dir(config.output_dir, 1).parent / "run_summary.json").read_text())
    assert on_disk["split"] == {
        "phase1_domains": {"library": 6},
        "phase2_domains": {"retail": 4},
        "phase1_conversations": 6,
        "phase2_conversations": 4,
    }
    for phase in (1, 2):
        summary = json.loads((phase_dir(config.output_dir, phase) / "summary.json").read_text())
        assert summary == on_disk["phases"][str(phase)]
        assert summary["tokens"] > 0 and summary["tokens_per_second"] > 0
        assert 0 < summary["supervised_tokens_per_epoch"] < summary["tokens"]
        assert summary["steps"] == len(summary["losses"])
        assert list(phase_dir(config.output_dir, phase).glob("checkpoint-*")), "no intermediate checkpoint saved"
    assert result["phases"]["2"]["init_model"] == str(final_dir(config.output_dir, 1))


def test_saved_checkpoint_generates_a_parseable_tool_call(two_phase_run):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    config, _, _ = two_phase_run
    checkpoint = str(final_dir(config.output_dir, 2))
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint).eval()

    conversation = retail_conversation(1, "A001")
    prompt = tokenizer.apply_chat_template(
        conversation["messages"][:2],  # system + user: the model must answer with a tool call
        tools=json.loads(conversation["tools"]),
        add_generation_prompt=True,
        return_tensors="pt",
        return_dict=True,
    )
    with torch.no_grad():
        output = model.generate(**prompt, max_new_tokens=48, do_sample=False)
    text = tokenizer.decode(output[0, prompt["input_ids"].shape[1] :], skip_special_tokens=False)

    parsed = parse_tool_calls(text)
    assert parsed.errors == [], text
    assert [call.name for call in parsed.tool_calls] == ["get_order"], text
    assert set(parsed.tool_calls[0].arguments) == {"order_id"}, text
    assert text.rstrip().endswith("<|im_end|>"), "the model should have learned to end its turn"
