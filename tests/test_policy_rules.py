"""Policy rules: the checker's IR, task anchoring on one user, and the filters that keep only the
conversations that follow the rules (each deviation rejected with its own reason)."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from envdsl.ir.rules import PolicyRules
from envdsl.llm import ScriptedBackend
from envdsl.rollout import FilterConfig, judge, run_conversation
from envdsl.rollout.agents import LLMAgent, OracleAgent
from envdsl.rollout.filters import tool_defaults
from envdsl.rollout.policy_filters import OwnerIndexCache, loop_problems, policy_problems, provenance_problems
from envdsl.rollout.users import STOP, ScriptedUser
from envdsl.session import environment_from_spec
from envdsl.tasks import SampleConfig, TaskSampler
from envdsl.tasks.ownership import OwnerIndex

ROOT = Path(__file__).resolve().parent.parent
SPECS = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "specs").glob("*/*.env"))
RETAIL = "specs/tau2/retail.env"


@pytest.fixture(scope="module")
def envs():
    return {}


def _env(envs, spec):
    if spec not in envs:
        envs[spec] = environment_from_spec(str(ROOT / spec))
    return envs[spec]


def _tools_ir(env):
    return {t["name"]: t for t in type(env).ir()["tools"]}


def _judge(env, task, record, **cfg):
    rules, owners = OwnerIndexCache().get(env, task)
    return judge(record, task, set(env.TOOLS), tool_defaults(env), FilterConfig(**cfg), rules, owners)


def _play(env, task, agent=None):
    return run_conversation(env, task, agent or OracleAgent(task, _tools_ir(env)), ScriptedUser(task))


def test_rules_ir_round_trips_and_names_the_procedure(envs):
    ir = type(_env(envs, RETAIL)).ir()
    rules = PolicyRules.from_ir(ir)
    assert PolicyRules.from_json(json.loads(json.dumps(rules.to_json()))) == rules
    assert rules.user is not None and rules.user.collection == "users" and rules.user.key == "user_id"
    assert rules.user.identify == ("find_user_id_by_email", "find_user_id_by_name_zip")
    assert {(o.collection, o.via) for o in rules.owned} == {("orders", "ref"), ("orders", "list")}
    assert "cancel_pending_order" in rules.confirm and rules.transfer == ("transfer_to_human_agents",)
    assert PolicyRules.from_ir({}).empty


def test_owner_index_follows_links_through_owned_owners(envs):
    env = _env(envs, "specs/bank/bank.env")
    env.reset()
    state = env.state()
    index = OwnerIndex(PolicyRules.from_ir(type(env).ir()), state)
    card = next(iter(state["cards"].values()))
    account = state["accounts"][card["account_id"]]
    assert index.owners(card["card_id"]) == {account["customer_id"]}  # card -> account -> customer
    assert index.owners({"x": [account["account_id"]]}) == {account["customer_id"]}
    assert index.owners("no such key") == set()


@pytest.mark.parametrize("spec", SPECS)
def test_tasks_are_about_one_user_identified_first_and_the_oracle_is_kept(envs, spec):
    env = _env(envs, spec)
    rules = PolicyRules.from_ir(type(env).ir())
    tasks = TaskSampler(env, SampleConfig(min_writes=1, failure_rate=0.3), seed=5, spec=spec).sample(6)
    assert len(tasks) == 6
    identified = 0
    for task in tasks:
        if task["user"] is not None:
            first = task["gold_calls"][0]
            assert first["name"] in rules.user.identify and first.get("identifies")
            assert any(f.get("identity") and f["step"] == 0 for f in task["user_facts"])
            identified += 1
        for c in task["gold_calls"]:
            assert bool(c.get("confirm")) == (c["name"] in rules.confirm)
        rec = _play(env, task)
        verdict = _judge(env, task, rec)
        assert verdict["reasons"] == [], (task["task_id"], verdict)
        for m in rec["messages"]:
            assert not (m["role"] == "assistant" and m.get("tool_calls") and m["content"])  # never talks and calls
    assert identified >= 3  # most write tasks act on someone's entities


@pytest.mark.parametrize("spec", SPECS)
def test_no_task_has_writes_that_change_nothing(envs, spec):
    """A task whose writes all succeed but leave the state as it was (a 'new' address equal to the old one) is
    passed by an agent that does nothing: the learning-signal run scored 2 of 8 such tau2 retail tasks as solved by
    a model that made no tool call."""
    env = _env(envs, spec)
    sampler = TaskSampler(env, SampleConfig(min_writes=1, failure_rate=0.2), seed=3, spec=spec)
    tasks = sampler.sample(20)
    assert tasks
    for task in tasks:
        if any(c["ok"] and env.TOOLS[c["name"]].effect == "write" for c in task["gold_calls"]):
            assert task["gold_diff"] and task["gold_state_hash"] != task["initial_state_hash"], task["task_id"]


@pytest.fixture(scope="module")
def retail(envs):
    env = _env(envs, RETAIL)
    tasks = TaskSampler(env, SampleConfig(min_writes=1, failure_rate=0.0, initial="seed"), seed=3,
                        spec=RETAIL).sample(8)
    task = next(t for t in tasks if t["user"] and any(c.get("confirm") for c in t["gold_calls"]))
    return env, task


def test_an_agent_that_skips_identification_is_rejected(retail):
    env, task = retail
    skipping = copy.deepcopy(task)
    skipping["gold_calls"] = [c for c in task["gold_calls"] if not c.get("identifies")]
    # it still needs the ids: the user volunteers them in the opening
    said = " ".join(json.dumps(json.loads(c["arguments"])) for c in skipping["gold_calls"])
    rec = _play(env, skipping)
    rec["messages"][1]["content"] += " " + said
    assert "policy:not_identified" in _judge(env, task, rec)["reasons"]


def test_an_agent_that_skips_confirmation_is_rejected(retail):
    env, task = retail
    hasty = copy.deepcopy(task)
    for c in hasty["gold_calls"]:
        c.pop("confirm", None)
    rec = _play(env, hasty)
    assert rec["final_state_hash"] == task["gold_state_hash"]  # it did the right thing...
    assert _judge(env, task, rec)["reasons"] == ["policy:unconfirmed_write"]  # ...without asking first


def test_an_agent_that_acts_on_another_users_order_is_rejected(retail):
    env, task = retail
    env.reset()
    state = env.state()
    other = next(o for o in state["orders"].values() if o["user_id"] != task["user"])
    rec = _play(env, task)
    # after identifying the user, the agent looks at someone else's order (its id was said by the user)
    at = next(i for i, m in enumerate(rec["messages"]) if m["role"] == "tool") + 1
    rec["messages"][at:at] = [
        {"role": "user", "content": f"Also, what about order {other['order_id']}?"},
        {"role": "assistant", "content": "", "tool_calls": [{"id": "peek", "type": "function", "function": {
            "name": "get_order_details", "arguments": json.dumps({"order_id": other["order_id"]})}}]},
        {"role": "tool", "tool_call_id": "peek", "name": "get_order_details", "content": json.dumps(other)}]
    reasons = _judge(env, task, rec)["reasons"]
    assert "policy:other_user" in reasons and "policy:many_users" in reasons


def test_an_agent_that_guesses_an_id_is_rejected(retail):
    env, task = retail
    rec = _play(env, task)
    first_call = next(m for m in rec["messages"] if m.get("tool_calls"))
    args = json.loads(first_call["tool_calls"][0]["function"]["arguments"])
    key = next(iter(args))
    messages = [*rec["messages"][:2], {"role": "assistant", "content": "", "tool_calls": [
        {"id": "g", "type": "function", "function": {"name": first_call["tool_calls"][0]["function"]["name"],
                                                     "arguments": json.dumps({**args, key: "guess_12345"})}}]}]
    assert provenance_problems(messages, rec["tools"]) == ["provenance:unsupported_argument"]
    assert provenance_problems(rec["messages"], rec["tools"]) == []


def test_repeated_identical_calls_are_a_loop_whatever_their_ids():
    call = {"name": "get_order_details", "arguments": '{"order_id": "#W1"}'}
    turns = [{"role": "assistant", "content": "", "tool_calls": [{"id": f"c{i}", "type": "function",
                                                                  "function": dict(call)}]} for i in range(3)]
    assert loop_problems(turns) == ["loop:repeated_call"]
    assert loop_problems(turns[:2]) == []


def test_a_call_after_a_transfer_is_rejected(retail):
    env, _ = retail
    rules = PolicyRules.from_ir(type(env).ir())
    env.reset()
    index = OwnerIndex(rules, env.state())

    def call(i, name, args):
        return {"role": "assistant", "content": "", "tool_calls": [
            {"id": f"c{i}", "type": "function", "function": {"name": name, "arguments": json.dumps(args)}}]}

    messages = [call(0, "transfer_to_human_agents", {"summary": "s"}),
                {"role": "tool", "tool_call_id": "c0", "name": "transfer_to_human_agents", "content": "ok"},
                call(1, "list_all_product_types", {})]
    assert policy_problems(messages, rules, index) == ["policy:call_after_transfer"]
    assert policy_problems(messages[:2], rules, index) == []


def test_a_nameless_call_and_an_empty_reply_are_the_agents_errors(retail):
    env, task = retail
    nameless = {"content": "", "tool_calls": [{"id": "n", "function": {"name": "", "arguments": "{}"}}]}
    rec = run_conversation(env, task, LLMAgent(ScriptedBackend([nameless, "Anything else?"])), ScriptedUser(task))
    assert rec["agent_errors"] == ["nameless_call"] and rec["ended"] == "user_stop"
    assert "agent:nameless_call" in _judge(env, task, rec)["reasons"]
    rec = run_conversation(env, task, LLMAgent(ScriptedBackend([{"content": ""}, "Anything else?"])),
                           ScriptedUser(task))
    assert rec["agent_errors"] == ["empty_reply"] and rec["ended"] == "user_stop" and rec["error"] is None
    assert "agent:empty_reply" in _judge(env, task, rec)["reasons"]


def test_the_scripted_user_speaks_like_a_person(retail):
    _, task = retail
    user = ScriptedUser(task)
    identity = [f for f in task["user_facts"] if f.get("identity")]
    ask = f"Could you give me your {identity[0]['param'].replace('_', ' ')}?"
    reply = user.respond([{"role": "assistant", "content": ask}])
    assert reply.startswith("My ") and reply.count(" is ") == 1 and STOP not in reply  # one value, a sentence
    assert user.respond([{"role": "assistant", "content": "What is your favourite colour?"}]) == \
        "I'm sorry, I don't know that."
    assert user.respond([{"role": "assistant", "content": "Shall I go ahead (yes/no)?"}]) == "Yes, please go ahead."
    assert user.respond([{"role": "assistant", "content": "Anything else?"}]).endswith(STOP)


@pytest.mark.parametrize("word", ["user", "owned", "confirm", "transfer", "refuse", "goal", "identified", "recipient"])
def test_rule_words_stay_usable_as_field_names_after_a_description(word):
    from envdsl.lang.checker import check_module
    from envdsl.lang.diagnostics import DiagnosticBag
    from envdsl.lang.parser import parse_source

    source = (f'domain d\nrecord R {{\n  id: str "the key"\n  {word}: str = "x" "a described field"\n}}\n'
              f'state {{ rs: collection<R> by id }}\nread tool t({word}: str) -> int {{ return 1 }}\n')
    bag = DiagnosticBag()
    module = parse_source(source, "d.env", bag)
    assert module is not None and check_module(module, bag) is not None, bag.render()


def test_generated_dates_and_times_are_calendar_valid(envs):
    import datetime
    import re

    env = _env(envs, "specs/clinic/clinic.env")
    seen = 0
    for seed in range(4):
        env.reset(seed=seed)
        state = env.state()
        for p in state["patients"].values():
            datetime.date.fromisoformat(p["date_of_birth"])  # raises on "4648-20-62"
            seen += 1
        for a in state["appointments"].values():
            datetime.date.fromisoformat(a["date"])
            assert re.fullmatch(r"([01][0-9]|2[0-3]):[0-5][0-9]", a["time"])
    assert seen >= 4


def test_an_entity_claimed_by_two_users_counts_for_both(envs):
    rules = PolicyRules.from_ir(type(_env(envs, RETAIL)).ir())
    state = {"users": {"a": {"user_id": "a", "orders": ["#W1"]}, "b": {"user_id": "b", "orders": []}},
             "orders": {"#W1": {"order_id": "#W1", "user_id": "b"}}}  # listed under a, naming b
    assert OwnerIndex(rules, state).owners("#W1") == {"a", "b"}
