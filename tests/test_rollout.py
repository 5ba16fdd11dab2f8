"""Conversations: the oracle and scripted user, LLM agents through a scripted backend, filters, resume."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from envdsl.llm import ScriptedBackend
from envdsl.rollout import FilterConfig, RolloutConfig, judge, run_conversation, run_rollouts
from envdsl.rollout.agents import LLMAgent, OracleAgent
from envdsl.rollout.filters import tool_defaults, validity_problems
from envdsl.rollout.users import STOP, ScriptedUser
from envdsl.session import environment_from_spec
from envdsl.tasks import SampleConfig, TaskSampler

FIXTURES = Path(__file__).parent / "fixtures" / "pipeline"
HELPDESK = str(FIXTURES / "helpdesk.env")


@pytest.fixture(scope="module")
def env():
    return environment_from_spec(HELPDESK)


@pytest.fixture(scope="module")
def tasks(env):
    return TaskSampler(env, SampleConfig(failure_rate=0.3), seed=11, spec=HELPDESK).sample(12)


def _tools_ir(env):
    return {t["name"]: t for t in type(env).ir()["tools"]}


def _verdict(env, task, record, **kw):
    return judge(record, task, set(env.TOOLS), tool_defaults(env), FilterConfig(**kw))


def test_oracle_conversation_is_well_formed_and_reaches_the_gold_state(env, tasks):
    for task in tasks:
        rec = run_conversation(env, task, OracleAgent(task, _tools_ir(env)), ScriptedUser(task))
        msgs = rec["messages"]
        assert msgs[0]["role"] == "system" and "Only open tickets" in msgs[0]["content"]
        assert msgs[1]["role"] == "user" and msgs[-1]["content"].endswith(STOP)
        made = [(c["name"], c["arguments"]) for c in rec["agent_calls"]]
        assert made == [(c["name"], c["arguments"]) for c in task["gold_calls"]]
        for i, m in enumerate(msgs):
            if m["role"] == "tool":
                call = msgs[i - 1]["tool_calls"][0]
                assert (m["tool_call_id"], m["name"]) == (call["id"], call["function"]["name"])
        # every user fact the oracle used was said by the user before the call that used it
        said = " ".join(m["content"] for m in msgs if m["role"] == "user")
        for f in task["user_facts"]:
            assert (f["value"] if isinstance(f["value"], str) else json.dumps(f["value"])) in said
        v = _verdict(env, task, rec)
        assert v == {"keep": True, "reasons": [], "success": True, "recovered": task["has_failure"]}


def test_scripted_user_gives_a_wrong_value_first_then_the_right_one():
    task = {"goal": "You want to close a ticket. You know your ticket id and give them when asked.",
            "user_facts": [{"key": "ticket_id", "param": "ticket_id", "value": "t0001", "wrong_first": "t0009"}]}
    user = ScriptedUser(task)
    assert user.opening() == "Hi! I want to close a ticket."
    ask = [{"role": "assistant", "content": "Could you tell me your ticket id?"}]
    assert user.respond(ask) == "The ticket id is t0009."
    assert user.respond(ask) == "The ticket id is t0001."
    assert STOP in user.respond([{"role": "assistant", "content": "Done: {\"ticket_id\": 1}. Anything else?"}])


def test_an_llm_agent_through_a_backend_is_judged_like_any_agent(env, tasks):
    task = next(t for t in tasks if t["writes"] and not t["has_failure"])
    calls = [c for c in task["gold_calls"] if c["ok"]]
    # the "model" makes every gold call at once (arguments as objects, as some servers send), then stops
    reply = {"content": "On it.", "tool_calls": [{"id": f"x{i}", "function": {
        "name": c["name"], "arguments": json.loads(c["arguments"])}} for i, c in enumerate(calls)]}
    backend = ScriptedBackend([reply, "All done. Anything else?"])
    rec = run_conversation(env, task, LLMAgent(backend), ScriptedUser(task))
    assert backend.requests[0]["tools"] == env.tool_schemas()
    assert rec["ended"] == "user_stop"
    # it never asked the user anything, so its argument values are guesses; and it talked while calling
    assert _verdict(env, task, rec)["reasons"] == ["provenance:unsupported_argument", "style:text_with_tool_call"]
    lenient = {"provenance": False, "text_with_calls": True}
    assert _verdict(env, task, rec, **lenient)["keep"] is True
    # the same model leaving out the last call misses the gold state
    short = {**reply, "tool_calls": reply["tool_calls"][:-1]}
    rec = run_conversation(env, task, LLMAgent(ScriptedBackend([short, "Done. Anything else?"])), ScriptedUser(task))
    assert _verdict(env, task, rec, **lenient)["reasons"] == ["state_mismatch"]


def test_read_only_tasks_need_the_gold_calls(env):
    task = TaskSampler(env, SampleConfig(max_writes=0), seed=2, spec=HELPDESK).sample(1)[0]
    rec = run_conversation(env, task, LLMAgent(ScriptedBackend(["I cannot help. Anything else?"])),
                           ScriptedUser(task))
    assert rec["final_state_hash"] == task["gold_state_hash"]  # doing nothing keeps the state...
    assert _verdict(env, task, rec)["reasons"] == ["calls_mismatch"]  # ...but is not the task
    assert _verdict(env, task, rec, calls_mode="never")["keep"] is True


def test_validity_filter_names_each_problem(env):
    names = set(env.TOOLS)
    good = {"ended": "user_stop", "messages": [
        {"role": "system", "content": "p"}, {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "", "tool_calls": [
            {"id": "a", "type": "function",
             "function": {"name": "get_ticket", "arguments": "{\"ticket_id\": \"t1\"}"}}]},
        {"role": "tool", "tool_call_id": "a", "name": "get_ticket", "content": "Error: no"},
        {"role": "assistant", "content": "sorry"}, {"role": "user", "content": STOP}]}
    assert validity_problems(good, names) == []

    def broken(i, **change):
        rec = json.loads(json.dumps(good))
        rec["messages"][i].update(change)
        return validity_problems(rec, names)

    call = good["messages"][2]["tool_calls"][0]
    # the tool result still names get_ticket, so it no longer answers the call either
    assert broken(2, tool_calls=[{**call, "function": {"name": "nope", "arguments": "{}"}}]) == \
        ["invalid:orphan_tool_result", "invalid:unknown_tool"]
    assert broken(2, tool_calls=[{**call, "function": {"name": "get_ticket", "arguments": "{"}}]) == \
        ["invalid:arguments_not_json"]
    assert broken(2, tool_calls=[{**call, "function": {"name": "get_ticket", "arguments": {}}}]) == \
        ["invalid:arguments_not_string"]
    assert broken(3, tool_call_id="zzz") == ["invalid:orphan_tool_result", "invalid:unanswered_call"]
    assert broken(4, content="I will check that for you " * 6) == ["invalid:repetition"]
    assert broken(4, content="A normal, varied answer that says what happened to the ticket and why.") == []
    assert validity_problems({**good, "ended": "max_turns"}, names) == ["invalid:ended_max_turns"]


def test_rollouts_resume_and_parallel_workers_give_the_same_dataset(tmp_path, tasks):
    cfg = RolloutConfig(trials=2)
    first = run_rollouts(tasks, tmp_path / "a", environment_from_spec, cfg)
    assert first["played"] == 24 and first["kept"] == 24 and first["resumed_skipped"] == 0
    again = run_rollouts(tasks, tmp_path / "a", environment_from_spec, cfg)
    assert again["played"] == 0 and again["resumed_skipped"] == 24 and again["kept"] == 24
    victim = tmp_path / "a" / "runs" / f"{tasks[0]['task_id']}.t1.json"
    victim.unlink()
    third = run_rollouts(tasks, tmp_path / "a", environment_from_spec, cfg)
    assert third["played"] == 1 and victim.exists()
    par = run_rollouts(tasks, tmp_path / "b", environment_from_spec, RolloutConfig(trials=2, workers=2))
    assert par["kept"] == 24
    a = (tmp_path / "a" / "dataset" / "shard-00000.jsonl").read_bytes()
    assert a == (tmp_path / "b" / "dataset" / "shard-00000.jsonl").read_bytes()
