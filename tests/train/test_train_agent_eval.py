"""A model trained by `python -m train` plays tasks as an envdsl agent (`--agent hf:PATH`).

The end-to-end test samples tasks from the two pipeline fixture domains, exports oracle trajectories, trains the
tiny model for a few steps in both phases (rental is the vertical domain) and evaluates the phase-2 checkpoint on
held-out tasks with `envdsl eval`. The model is nearly untrained, so its score is not asserted beyond [0, 1]; what
is checked is the plumbing: every conversation ran to an end without a backend error and is well formed.
The other tests pin the backend's pieces: the prompt it renders is the training text, tool calls it parses reach
the environment, decoding is deterministic, and missing dependencies give a clear error.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from envdsl.cli import main as envdsl_main
from envdsl.llm import LLMError, hf_local
from envdsl.llm.hf_local import HFChatBackend
from envdsl.rollout.agents import LLMAgent
from envdsl.rollout.conversation import run_conversation
from envdsl.rollout.users import ScriptedUser
from envdsl.session import environment_from_spec
from train.cli import main as train_main
from train.phases import final_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "pipeline"
TINY_CONFIG = REPO_ROOT / "configs" / "train" / "tiny_cpu.yaml"
HELD_OUT_PER_DOMAIN = 1


def _invoke(*args: str) -> str:
    result = CliRunner().invoke(envdsl_main, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.output


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """Tasks split into train / held-out, oracle trajectories of the training tasks, and a two-phase tiny run."""
    root = tmp_path_factory.mktemp("agent_eval")
    all_tasks = root / "tasks.jsonl"
    _invoke("tasks", str(FIXTURES), "-n", "4", "--seed", "3", "-o", str(all_tasks))
    rows = [json.loads(line) for line in all_tasks.read_text().splitlines()]
    by_domain: dict[str, list[dict]] = {}
    for row in rows:
        by_domain.setdefault(row["domain"], []).append(row)
    assert sorted(by_domain) == ["helpdesk", "rental"]
    train_rows = [t for ts in by_domain.values() for t in ts[:-HELD_OUT_PER_DOMAIN]]
    held_out = [t for ts in by_domain.values() for t in ts[-HELD_OUT_PER_DOMAIN:]]
    (root / "train.jsonl").write_text("".join(json.dumps(t) + "\n" for t in train_rows))
    (root / "heldout.jsonl").write_text("".join(json.dumps(t) + "\n" for t in held_out))

    _invoke("rollout", str(root / "train.jsonl"), "-o", str(root / "rollouts"), "--agent", "oracle")
    dataset = root / "rollouts" / "dataset"
    output_dir = root / "model"
    status = train_main([
        "--config", str(TINY_CONFIG), f"data.train_dir={dataset}", f"output_dir={output_dir}",
        "data.vertical_domains=[rental]", "training.max_steps=3", "training.disable_tqdm=true",
        # the prompts (policy + tool schemas) of the fixtures are longer than the tiny config's 1024 tokens
        "data.max_length=4096", "training.per_device_train_batch_size=1",
    ])
    assert status == 0
    return root, output_dir, held_out


def test_eval_with_trained_checkpoint_end_to_end(trained, monkeypatch):
    root, output_dir, held_out = trained
    checkpoint = final_dir(output_dir, 2)
    assert (checkpoint / "config.json").is_file() and (checkpoint / "tokenizer.json").is_file()
    monkeypatch.setenv(hf_local.MAX_NEW_TOKENS_ENV, "32")  # an untrained model rambles; keep the test fast
    report_path = root / "eval.json"
    agent = f"hf:{checkpoint}"
    output = _invoke("eval", str(root / "heldout.jsonl"), "-o", str(root / "eval"), "--agent", agent,
                     "--trials", "1", "-k", "1", "--max-turns", "4",  # default 8 threads share the model
                     "--json", str(report_path))
    report = json.loads(report_path.read_text())
    assert report["agent"] == agent and report["conversations"] == len(held_out) == 2
    passk = report["passk"]
    assert set(passk) == {"helpdesk", "rental", "all"}
    assert passk["all"]["tasks"] == 2 and passk["all"]["trials"] == 1
    assert 0.0 <= passk["all"]["pass^1"] <= 1.0
    assert "pass^1" in output and "all" in output

    runs = sorted((root / "eval" / "runs").glob("*.json"))
    assert [p.name for p in runs] == sorted(f"{t['task_id']}.t0.json" for t in held_out)
    for path in runs:
        record = json.loads(path.read_text())
        assert record["agent"] == agent
        # a backend that raised (bad prompt rendering, generate() misuse) ends the conversation with agent_error
        assert record["error"] is None and record["ended"] in {"user_stop", "max_turns"}, record
        assert_well_formed(record["messages"])


def assert_well_formed(messages: list[dict]) -> None:
    """system, user, then agent turns; each tool call answered by a tool message with its id, in order."""
    assert [m["role"] for m in messages[:2]] == ["system", "user"]
    assert any(m["role"] == "assistant" for m in messages)
    pending: list[str] = []
    for m in messages[2:]:
        assert isinstance(m.get("content"), str)
        if m["role"] == "tool":
            assert pending and m["tool_call_id"] == pending.pop(0)
            continue
        assert not pending, f"tool calls {pending} were not answered before a {m['role']} message"
        assert m["role"] in {"assistant", "user"}
        for call in m.get("tool_calls") or []:
            assert m["role"] == "assistant" and call["type"] == "function"
            assert isinstance(call["function"]["name"], str) and call["function"]["name"]
            assert isinstance(json.loads(call["function"]["arguments"]), dict)
            pending.append(call["id"])
    assert not pending


def test_prompt_is_the_training_rendering(trained):
    """For every assistant turn of a training row, the backend's prompt for the messages before it is exactly
    the text training rendered up to that turn's first token (tools as exported, arguments as stored)."""
    root, output_dir, _ = trained
    backend = HFChatBackend(str(final_dir(output_dir, 1)), max_new_tokens=4)
    shard = sorted((root / "rollouts" / "dataset").glob("shard-*.jsonl"))[0]
    row = json.loads(shard.read_text().splitlines()[0])
    tools = json.loads(row["tools"])
    full = backend.tokenizer.apply_chat_template(row["messages"], tools=tools, tokenize=False)
    turns = [i for i, m in enumerate(row["messages"]) if m["role"] == "assistant"]
    assert any(row["messages"][i]["tool_calls"] for i in turns), "the row should contain a tool call"
    # the live conversation carries no None-valued keys and the schemas in the environment's own key order
    env = environment_from_spec(str(FIXTURES / "helpdesk.env")) if row["domain"] == "helpdesk" else \
        environment_from_spec(str(FIXTURES / "rental.env"))
    assert json.dumps(env.tool_schemas(), sort_keys=True) == row["tools"]
    for i in turns:
        live = [{k: v for k, v in m.items() if v is not None} for m in row["messages"][:i]]
        prompt = backend.prompt(live, env.tool_schemas())
        assert prompt.endswith("<|im_start|>assistant\n")
        assert full.startswith(prompt)
        assert full[len(prompt):].startswith(row["messages"][i]["content"] or "<tool_call>")


def test_greedy_generation_is_deterministic(trained):
    _, output_dir, _ = trained
    backend = HFChatBackend(str(final_dir(output_dir, 2)), max_new_tokens=12)
    messages = [{"role": "system", "content": "You help."}, {"role": "user", "content": "Hi! Close ticket t0001."}]
    first = backend.chat(messages)
    assert first == backend.chat(messages)
    assert first["role"] == "assistant" and isinstance(first["content"], str)
    # at most max_new_tokens were generated
    assert len(backend.tokenizer(backend.generate_text(messages), add_special_tokens=False)["input_ids"]) <= 12


def test_generated_text_ends_at_the_end_of_turn(trained, monkeypatch):
    """Whatever generate() returns past the first end-of-turn token is not part of the reply, and special
    tokens are not part of the text (the tag tokens such as <tool_call> are not special and stay)."""
    import torch

    _, output_dir, _ = trained
    backend = HFChatBackend(str(final_dir(output_dir, 2)), max_new_tokens=8)
    tok = backend.tokenizer
    reply = tok("<tool_call>x</tool_call>", add_special_tokens=False)["input_ids"]
    after = tok("ignored", add_special_tokens=False)["input_ids"]
    im_start, im_end = tok.convert_tokens_to_ids("<|im_start|>"), tok.convert_tokens_to_ids("<|im_end|>")
    assert im_end in backend.stop_ids

    def fake_generate(input_ids, **kwargs):
        assert kwargs["do_sample"] is False and kwargs["max_new_tokens"] == 8 and im_end in kwargs["eos_token_id"]
        new = [im_start, *reply, im_end, *after]
        return torch.cat([input_ids, torch.tensor([new])], dim=1)

    monkeypatch.setattr(backend.model, "generate", fake_generate)
    assert backend.generate_text([{"role": "user", "content": "hi"}]) == "<tool_call>x</tool_call>"


def test_backend_is_loaded_once_per_checkpoint(trained):
    _, output_dir, _ = trained
    a = HFChatBackend(str(final_dir(output_dir, 2)))
    b = HFChatBackend(str(final_dir(output_dir, 2)) + "/")
    assert a.model is b.model and a.lock is b.lock


class _Canned(HFChatBackend):
    """The real parsing and message building, with generation replaced by fixed text."""

    def __init__(self, texts: list[str]):
        from train.toolcall import parse_tool_calls

        self.parse_tool_calls = parse_tool_calls
        self.texts = list(texts)

    def generate_text(self, messages, tools=None, **params):
        return self.texts.pop(0)


def test_generated_tool_calls_reach_the_environment():
    env = environment_from_spec(str(FIXTURES / "helpdesk.env"))
    env.reset()
    user_id = sorted(env.state()["users"])[0]
    email = env.state()["users"][user_id]["email"]
    backend = _Canned([
        f'Let me look you up.\n<tool_call>\n{{"name": "find_user_by_email", "arguments": {{"email": "{email}"}}}}\n'
        "</tool_call>",
        '<tool_call>{"name": "no_such_tool", "arguments": {}}</tool_call>',
        "Done.",
    ])
    task = {"task_id": "t", "domain": "helpdesk", "goal": "You want your account looked up.", "user_facts": []}
    record = run_conversation(env, task, LLMAgent(backend), ScriptedUser(task), max_turns=5)
    assert record["error"] is None and record["ended"] == "user_stop"
    assert_well_formed(record["messages"])
    assert [(c["name"], c["ok"]) for c in record["agent_calls"]] == [
        ("find_user_by_email", True), ("no_such_tool", False)]
    first = record["messages"][2]
    assert first["content"] == "Let me look you up."
    assert first["tool_calls"][0]["id"] == "call_2_0"  # numbered by position, not random
    assert json.loads(first["tool_calls"][0]["function"]["arguments"]) == {"email": email}
    assert user_id in record["messages"][3]["content"]
    assert record["messages"][5]["content"].startswith("Error:")


def test_malformed_tool_call_stays_as_text():
    backend = _Canned(['<tool_call>{"name": "get_ticket", "arguments": {"ticket_id": </tool_call>'])
    message = backend.chat([{"role": "user", "content": "hi"}])
    assert message == {"role": "assistant",
                       "content": '<tool_call>{"name": "get_ticket", "arguments": {"ticket_id": </tool_call>'}


def test_missing_torch_is_a_clear_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(LLMError, match="needs torch and transformers"):
        HFChatBackend(str(tmp_path))


def test_not_a_checkpoint_is_a_clear_error(tmp_path):
    with pytest.raises(LLMError, match="not a model folder"):
        HFChatBackend(str(tmp_path))
    with pytest.raises(LLMError, match="no such checkpoint folder"):
        HFChatBackend(str(tmp_path / "missing"))
