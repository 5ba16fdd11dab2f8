"""Two actors in one domain: user state and user tools, env fns, post-call hooks (issue 15, items 1-2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from envdsl import compiler as C
from envdsl.codegen.python_package import render_package
from envdsl.ir.actors import ActorView
from envdsl.lang.checker import check_module
from envdsl.lang.diagnostics import DiagnosticBag
from envdsl.lang.formatter import format_source
from envdsl.lang.parser import parse_source
from envdsl.session import environment_from_spec

SPEC = '''domain two_actor "A router and the account it serves"
seed "seed.json"

record Account { account_id: str  online: bool = false  visits: int = 0 }
record Device { device_id: str  powered: bool = true }

state {
  accounts: collection<Account> by account_id
}

user state {
  devices: collection<Device> by device_id
  reboots: int = 0
}

read tool get_account(account_id: str) -> Account {
  return accounts[account_id] ?? fail "no such account"
}

write tool book_visit(account_id: str) -> Account {
  let a = accounts[account_id] ?? fail "no such account"
  a.visits += 1
  return a
}

user write tool toggle_power(device_id: str) -> Device {
  let d = devices[device_id] ?? fail "no such device"
  d.powered = not d.powered
  reboots += 1
  return d
}

env fn set_power(device_id: str, on: bool) -> bool {
  let d = devices[device_id] ?? fail "no such device"
  d.powered = on
  return true
}

env fn account_online(account_id: str) -> bool {
  return (accounts[account_id] ?? fail "no such account").online
}

hook sync() {
  for a in accounts {
    require a.visits <= 2 else "too many visits booked"
    a.online = all([d.powered for d in devices])
  }
}
'''

SEED = {"accounts": {"a1": {"account_id": "a1"}}, "devices": {"r1": {"device_id": "r1", "powered": False}}}


def check(source: str) -> tuple[dict | None, DiagnosticBag]:
    bag = DiagnosticBag()
    module = parse_source(source, "t.env", bag)
    assert module is not None, bag.render()
    return check_module(module, bag), bag


def codes(source: str) -> list[str]:
    return sorted(d.code for d in check(source)[1].sorted())


@pytest.fixture()
def spec(tmp_path: Path) -> Path:
    (tmp_path / "seed.json").write_text(json.dumps(SEED), encoding="utf-8")
    path = tmp_path / "two.env"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_the_ir_names_each_tools_actor_and_each_state_fields_side() -> None:
    ir, bag = check(SPEC)
    assert ir is not None, bag.render()
    assert {t["name"]: t["actor"] for t in ir["tools"]} == {"get_account": "agent", "book_visit": "agent",
                                                              "toggle_power": "user"}
    assert {s["name"]: s["actor"] for s in ir["state"]} == {"accounts": "agent", "devices": "user",
                                                              "reboots": "user"}
    assert [f["name"] for f in ir["functions"] if f.get("env")] == ["set_power", "account_online"]
    assert [(h["name"], h["writes"]) for h in ir["hooks"]] == [("sync", True)]
    view = ActorView.from_ir(ir)
    assert view.tools("agent") == ("get_account", "book_visit") and view.tools("user") == ("toggle_power",)
    assert view.state("user") == ("devices", "reboots") and view.env_functions == ("set_power", "account_online")
    assert ActorView.from_json(json.loads(json.dumps(view.to_json()))) == view


def test_a_one_actor_domain_has_an_empty_user_side() -> None:
    ir, _ = check('domain d\nstate { n: int = 0 }\nwrite tool inc() -> int { n += 1 return n }\n')
    assert ir is not None
    view = ActorView.from_ir(ir)
    assert view.tools("user") == () and view.state("user") == () and not view.two_actors
    assert ir["hooks"] == [] and ir["shared"] == []


def test_a_user_tool_may_not_write_the_agents_state() -> None:
    bad = SPEC.replace("  reboots += 1\n", "  reboots += 1\n  let a = accounts[\"a1\"] ?? fail \"x\"\n"
                                          "  a.visits = 0\n")
    ir, bag = check(bad)
    assert ir is None
    (d,) = bag.sorted()
    assert d.code == "E1001" and "user tool 'toggle_power' writes the agent's state 'accounts'" in d.message
    assert d.span.line == bad.splitlines().index("  a.visits = 0") + 1
    assert codes(bad + "shared accounts\n") == []  # the spec says both may write it


def test_an_agent_tool_may_not_write_the_users_state_even_through_a_helper() -> None:
    bad = SPEC + '''fn power_off(d: Device) -> bool {
  d.powered = false
  return true
}
write tool remote_off(device_id: str) -> bool {
  return power_off(devices[device_id] ?? fail "no such device")
}
'''
    assert codes(bad) == ["E1001"]
    # reading the other side is allowed; hooks and env fns write both sides (the sync hook above does)
    reads = SPEC + 'read tool device_count() -> int { return len(devices) }\n'
    assert codes(reads) == []


def test_shared_names_must_be_state_fields() -> None:
    assert codes(SPEC + "shared acounts\n") == ["E1002"]
    assert codes(SPEC + "shared accounts, accounts\n") == ["E1002"]


def test_two_state_blocks_of_one_side_are_a_duplicate() -> None:
    assert codes(SPEC + "user state { other: int = 0 }\n") == ["E0201"]


def test_the_formatter_keeps_the_new_declarations() -> None:
    source = SPEC + "shared accounts\n"
    once = format_source(source, "t.env", DiagnosticBag())
    assert once is not None
    assert "user state {" in once and "user write tool toggle_power(" in once and "env fn set_power(" in once
    assert "hook sync() {" in once and "shared accounts" in once
    assert format_source(once, "t.env", DiagnosticBag()) == once
    assert codes(once) == []


def test_each_actor_calls_only_its_own_tools_and_env_fns_are_no_tools(spec: Path) -> None:
    env = environment_from_spec(str(spec))
    assert list(env.TOOLS) == ["get_account", "book_visit"] and list(env.USER_TOOLS) == ["toggle_power"]
    assert [s["function"]["name"] for s in env.tool_schemas()] == ["get_account", "book_visit"]
    assert [s["function"]["name"] for s in env.user_tool_schemas()] == ["toggle_power"]
    assert env.user_state_fields() == ["devices", "reboots"]
    refused = env.call("toggle_power", {"device_id": "r1"})
    assert not refused.ok and "unknown tool 'toggle_power'" in refused.content
    assert not env.call_user("get_account", {"account_id": "a1"}).ok
    assert not env.call("set_power", {"device_id": "r1", "on": True}).ok
    assert env.call_function("account_online", {"account_id": "a1"}).value is False


def test_the_hook_runs_after_every_successful_call(spec: Path) -> None:
    env = environment_from_spec(str(spec))
    assert env.call_user("toggle_power", {"device_id": "r1"}).value == {"device_id": "r1", "powered": True}
    assert env.state()["accounts"]["a1"]["online"] is True and env.state()["reboots"] == 1
    assert env.call_function("set_power", {"device_id": "r1", "on": False}).ok
    assert env.state()["accounts"]["a1"]["online"] is False


def test_a_failing_hook_rolls_back_the_call_and_itself(spec: Path) -> None:
    env = environment_from_spec(str(spec))
    env.call_user("toggle_power", {"device_id": "r1"})
    assert env.call("book_visit", {"account_id": "a1"}).ok and env.call("book_visit", {"account_id": "a1"}).ok
    before = env.state()
    result = env.call("book_visit", {"account_id": "a1"})  # the hook's require fails on a third visit
    assert not result.ok and result.content == "Error: too many visits booked"
    assert env.state() == before


def test_the_package_has_per_actor_tool_files(spec: Path) -> None:
    compiled = C.check_spec(spec, DiagnosticBag())
    assert compiled is not None
    files = render_package(compiled.ir, compiled.seed, "two.env", "two_actor")
    assert [t["function"]["name"] for t in json.loads(files["tools.json"])] == ["get_account", "book_visit"]
    assert [t["function"]["name"] for t in json.loads(files["user_tools.json"])] == ["toggle_power"]
    text = files["environment.py"].decode()
    assert "USER_TOOLS = {" in text and "ENV_FUNCTIONS = {" in text and "HOOKS = [T.sync]" in text


def _gate(spec: Path) -> Any:
    from envdsl.proptest.domain import Domain
    from envdsl.proptest.runner import Options, gate_domain

    env_cls = type(environment_from_spec(str(spec)))
    return gate_domain(Domain(env_cls.DOMAIN, env_cls, str(spec)), Options(examples=15, fidelity=False))


def test_the_property_gate_covers_user_tools_and_hooks(spec: Path) -> None:
    result = _gate(spec)
    assert result.failures == [] and result.tools == 3  # two agent tools and the user's toggle_power
    # a hook that leaves an invalid state behind fails write_keeps_state_valid, on a user tool's call too
    spec.write_text(SPEC.replace("reboots: int = 0", "reboots: int @max(1) = 0")
                    .replace("hook sync() {", "hook sync() {\n  reboots += 1"), encoding="utf-8")
    failures = _gate(spec).failures
    assert failures and {f.property for f in failures} >= {"write_keeps_state_valid"}


@pytest.mark.parametrize("tool", [
    'write tool all_off() -> int {\n  for d in devices {\n    d.powered = false\n  }\n  return 1\n}\n',
    'fn dev(id: str) -> Device {\n  return devices[id] ?? fail "no"\n}\n'
    'write tool off(id: str) -> bool {\n  let d = dev(id)\n  d.powered = false\n  return true\n}\n',
    'write tool add_dev(id: str) -> bool {\n  insert devices[id] = Device(device_id=id)\n  return true\n}\n',
    'write tool off(id: str) -> bool {\n  return set_power(id, false)\n}\n',  # an env fn called by a tool
], ids=["loop", "helper_result", "insert", "env_fn"])
def test_every_way_of_writing_the_users_state_is_caught(tool: str) -> None:
    assert codes(SPEC + tool) == ["E1001"]
    assert codes(SPEC + tool + "shared devices\n") == []


def test_an_unknown_actor_is_an_error_result(spec: Path) -> None:
    env = environment_from_spec(str(spec))
    result = env.call("get_account", {"account_id": "a1"}, actor="admin")
    assert not result.ok and result.content == "Error: unknown actor 'admin': agent, user or env"
