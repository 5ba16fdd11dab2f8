"""The compact prompt style (model.prompt_style: compact) and the CPU-scale config that uses it."""

import json

import pytest
from train_testkit import REPO_ROOT, TINY_CONFIG
from train_trajectories import all_conversations

from train.config import ConfigError, load_config
from train.tiny_model import build_tokenizer, conversation_texts, tiny_chat_template
from train.toolcall import parse_tool_calls

SMALL_CONFIG = REPO_ROOT / "configs" / "train" / "small_cpu.yaml"
PROSE = "This sentence pads the description the way real API documentation does, at some length. " * 3


def wide_tools(count: int = 16) -> list[dict]:
    """Tool schemas as large as the real domains': long descriptions, required and optional parameters."""
    tools = []
    for i in range(count):
        properties = {
            f"record_id_{i}": {"type": "string", "description": PROSE},
            f"amount_{i}": {"type": "number", "description": PROSE},
            f"labels_{i}": {"type": "array", "items": {"type": "string"}, "description": PROSE},
            f"note_{i}": {"type": ["string", "null"], "description": PROSE},
        }
        tools.append({"type": "function", "function": {
            "name": f"update_record_{i}",
            "description": f"Update record number {i}. {PROSE}",
            "parameters": {"type": "object", "properties": properties,
                           "required": [f"record_id_{i}", f"amount_{i}", f"labels_{i}"]}}})
    return tools


def long_policy(rules: int = 40) -> str:
    lines = ["You are a helpful assistant for the records domain. Use the tools to act; follow the policy.", "",
             "# Policy", "Some introductory prose that the compact prompt leaves out. " * 5]
    for i in range(rules):
        lines += [f"- **Rule {i}**: always confirm the change with the member before you make it, and {PROSE}",
                  "  a continuation line of the rule above"]
    return "\n".join(lines)


def conversation(tools: list[dict]) -> list[dict]:
    first = tools[0]["function"]["name"]
    arguments = json.dumps({"record_id_0": "r-1", "amount_0": 2.5, "labels_0": ["a", "b"]})
    call = {"id": "c0", "type": "function", "function": {"name": first, "arguments": arguments}}
    return [
        {"role": "system", "content": long_policy()},
        {"role": "user", "content": "Please update record r-1 to 2.5 with labels a and b."},
        {"role": "assistant", "content": "Updating it now.", "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c0", "name": first, "content": json.dumps({"ok": True})},
        {"role": "assistant", "content": "Done: record r-1 is updated."},
    ]


@pytest.fixture(scope="module")
def tokenizer():
    rows = all_conversations()
    texts = list(conversation_texts(rows)) + [long_policy(), *(json.dumps(t) for t in wide_tools())]
    return build_tokenizer(texts, vocab_size=1024, prompt_style="compact")


def render(tokenizer, style: str, messages: list[dict], tools: list[dict], **kwargs):
    tokenizer.chat_template = tiny_chat_template(style)
    return tokenizer.apply_chat_template(messages, tools=tools, **kwargs)


def system_block(text: str) -> str:
    return text.split("<|im_end|>", 1)[0]


def test_compact_prompt_is_a_fraction_of_the_full_one(tokenizer):
    tools = wide_tools()
    messages = conversation(tools)
    full = render(tokenizer, "full", messages, tools, tokenize=True, return_dict=True)["input_ids"]
    compact = render(tokenizer, "compact", messages, tools, tokenize=True, return_dict=True)["input_ids"]
    assert len(compact) < len(full) / 4, (len(compact), len(full))
    assert len(compact) <= 2048  # 16 tools and a 40-rule policy still fit a 2K context


def test_compact_prompt_keeps_every_tool_name_and_required_parameter(tokenizer):
    tools = wide_tools()
    system = system_block(render(tokenizer, "compact", conversation(tools), tools, tokenize=False))
    tool_lines = system.split("<tools>\n", 1)[1].split("\n</tools>", 1)[0].splitlines()
    assert len(tool_lines) == len(tools)
    for line, tool in zip(tool_lines, tools):
        function = tool["function"]
        i = function["name"].rsplit("_", 1)[1]
        # required first, in declared order, then optional ones marked with '?'
        assert line.startswith(f"{function['name']}(record_id_{i}: string, amount_{i}: number, "
                               f"labels_{i}: array[string], note_{i}?: string|null): Update record number {i}"), line
        assert PROSE.strip() not in line
    # the policy keeps its first line and 10 rules, each cut short; headings, prose and continuations go
    policy = system.split("\n\nTools", 1)[0].splitlines()
    assert policy[0] == "<|im_start|>system"
    assert policy[1].startswith("You are a helpful assistant for the records domain.")
    assert [line.split(":")[0] for line in policy[2:]] == [f"- Rule {i}" for i in range(10)]
    assert all(len(line) <= 90 for line in policy[2:])
    assert "continuation" not in system and "introductory" not in system


def test_compact_and_full_templates_train_the_same_assistant_tokens(tokenizer):
    tools = wide_tools()
    messages = conversation(tools)
    spans = {}
    for style in ("full", "compact"):
        enc = render(tokenizer, style, messages, tools, tokenize=True, return_dict=True,
                     return_assistant_tokens_mask=True)
        spans[style] = [t for t, keep in zip(enc["input_ids"], enc["assistant_masks"]) if keep]
    assert spans["compact"] == spans["full"]
    assert spans["compact"]  # assistant tokens are marked at all


def test_the_same_parser_reads_the_calls_of_the_compact_template(tokenizer):
    tools = wide_tools()
    messages = conversation(tools)
    text = render(tokenizer, "compact", messages, tools, tokenize=False)
    assistant_turns = [part.split("<|im_end|>", 1)[0] for part in text.split("<|im_start|>assistant\n")[1:]]
    parsed = parse_tool_calls(assistant_turns[0])
    assert parsed.errors == []
    assert parsed.content == "Updating it now."
    assert [(c.name, c.arguments) for c in parsed.tool_calls] == [
        ("update_record_0", {"record_id_0": "r-1", "amount_0": 2.5, "labels_0": ["a", "b"]})]
    assert parse_tool_calls(assistant_turns[1]).tool_calls == []
    # and the generation prompt ends where the model starts writing its turn
    prompt = render(tokenizer, "compact", messages[:2], tools, tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")


def test_compact_prompt_without_tools_still_shortens_the_policy(tokenizer):
    text = render(tokenizer, "compact", [{"role": "system", "content": long_policy()},
                                         {"role": "user", "content": "hi"}], None, tokenize=False)
    assert "<tools>" not in text
    assert system_block(text).count("\n- Rule ") == 10


def test_prompt_style_is_validated():
    with pytest.raises(ConfigError, match="prompt_style 'tiny' is not one of full, compact"):
        load_config(TINY_CONFIG, ["model.prompt_style=tiny"])
    with pytest.raises(ConfigError, match="at most one of"):
        load_config(TINY_CONFIG, ["model.prompt_style=compact", "model.chat_template_path=x.jinja"])
    assert load_config(TINY_CONFIG).model.prompt_style == "full"
    with pytest.raises(ConfigError, match="data.loss_on 'replies' is not one of assistant, all"):
        load_config(TINY_CONFIG, ["data.loss_on=replies"])
    with pytest.raises(ConfigError, match="data.loss_on"):
        load_config(TINY_CONFIG, ["training.assistant_only_loss=false"])


def test_compact_base_model_saves_the_compact_template(trajectory_dir, tmp_path):
    from train_testkit import tiny_config

    from train.data import load_trajectories
    from train.modeling import load_tokenizer
    from train.phases import distributed_state, prepare_base

    config = tiny_config(trajectory_dir, tmp_path, "model.prompt_style=compact")
    base = prepare_base(config, load_trajectories(trajectory_dir), distributed_state())
    # the checkpoint carries the template, so `envdsl eval --agent hf:PATH` prompts as training did
    assert load_tokenizer(base, config.model).chat_template == tiny_chat_template("compact")


class _VocabOnly:
    """Stands in for a trained tokenizer: build_model needs only its length and two token ids."""

    pad_token_id = 0
    eos_token_id = 2

    def __init__(self, size: int):
        self.size = size

    def __len__(self) -> int:
        return self.size


def test_small_cpu_config_builds_a_model_of_about_a_million_parameters():
    from train.tiny_model import build_model, split_tiny_settings

    config = load_config(SMALL_CONFIG)
    assert config.model.prompt_style == "compact"
    vocab, pre_tokenizer, sizes = split_tiny_settings(config.model.tiny)  # as prepare_base splits them
    assert (vocab, pre_tokenizer) == (4096, "byte_level") and "pre_tokenizer" not in sizes
    model = build_model(_VocabOnly(vocab), sizes, seed=0)
    assert type(model).__name__ == "Qwen3ForCausalLM"
    parameters = sum(p.numel() for p in model.parameters())
    assert 1_250_000 <= parameters <= 1_350_000, parameters  # the config's comment says 1.3M
    assert config.data.max_length <= sizes["max_position_embeddings"]


def test_embedding_rows_pad_the_table_beyond_the_tokenizer_and_never_shrink_it():
    """benchmarks/train_throughput.py --size qwen3-0.6b gives the model Qwen's 151,936 embedding rows over a small
    trained tokenizer; a row count below the tokenizer's length must not cut tokens off."""
    from train.tiny_model import build_model

    sizes = {"hidden_size": 32, "intermediate_size": 64, "num_hidden_layers": 1, "num_attention_heads": 2,
             "num_key_value_heads": 1, "head_dim": 16}
    padded = build_model(_VocabOnly(300), {**sizes, "embedding_rows": 1024}, seed=0)
    assert padded.config.vocab_size == 1024
    assert padded.get_input_embeddings().weight.shape == (1024, 32)
    assert padded.lm_head.weight.data_ptr() == padded.get_input_embeddings().weight.data_ptr()  # still tied
    assert build_model(_VocabOnly(300), {**sizes, "embedding_rows": 100}, seed=0).config.vocab_size == 300
    assert build_model(_VocabOnly(300), sizes, seed=0).config.vocab_size == 300
