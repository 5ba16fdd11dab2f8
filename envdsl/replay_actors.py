"""`envdsl replay` for all of tau2-bench's task format: initialisation, requestors, both databases, assertions.

tau2-bench's dual-control tasks (telecom) start from `initial_state`: `initialization_data` (`agent_data`,
`user_data`: values merged into each side's database) and `initialization_actions` (`{"env_type": "assistant"
| "user", "func_name", "arguments"}`: functions of either side's toolkit that are not tools); each gold action
has a `requestor` ("assistant", the default, or "user"); `env_assertions` (`{"env_type", "func_name",
"arguments", "assert_value", "message"}`) are checked at the end. In a spec those functions are `env fn`s (or a
tool of the named side), the user's tools are `user ... tool`s, and each side's database is the state fields of
that side (`state { }` and `user state { }`).

Before anything runs, `replay_problems` lists what cannot be replayed faithfully (an unknown function or tool,
a requestor or env_type the spec has no actor for, a message history): the CLI then refuses, with the reasons
and a non-zero exit, instead of printing a count that skipped them. One-actor tasks without any of these keep
their own replay (envdsl/replay.py), so tau2 retail and airline parity is untouched.

Comparison here is by whole database per side: sha256 of each side's canonical JSON against the reference's
`db_hash` (agent) and `user_db_hash` (user), as tau2-bench's evaluator hashes them.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass
from typing import Any

from envdsl.replay import Mismatch, ReplayReport, compare_output

REQUESTORS = {"assistant": "agent", "user": "user"}


@dataclass
class TwoActorReport(ReplayReport):
    user_db_match: int = 0
    user_db_compared: int = 0  # tasks whose reference has a user database hash
    init_actions: int = 0
    assertions_total: int = 0
    assertions_passed: int = 0


def _initial_state(task: dict[str, Any]) -> dict[str, Any]:
    return task.get("initial_state") or {}


def _criteria(task: dict[str, Any]) -> dict[str, Any]:
    return task.get("evaluation_criteria") or {}


def needs_two_actor_replay(env: Any, tasks: list[dict[str, Any]]) -> bool:
    """Whether any task uses what only this replay handles, or the spec has a user side."""
    if type(env).USER_TOOLS or type(env).user_state_fields():
        return True
    for task in tasks:
        init = _initial_state(task)
        if init.get("initialization_data") or init.get("initialization_actions"):
            return True
        if _criteria(task).get("env_assertions"):
            return True
        if any((a.get("requestor") or "assistant") != "assistant" for a in _criteria(task).get("actions") or []):
            return True
    return False


def _function_actor(env: Any, env_type: str, name: str) -> str | None:
    """Which table a set-up or assertion function is found in: an env fn, else a tool of the named side."""
    cls = type(env)
    if name in cls.ENV_FUNCTIONS:
        return "env"
    side = REQUESTORS.get(env_type)
    if side is not None and name in cls.tools_of(side):
        return side
    return None


def replay_problems(env: Any, tasks: list[dict[str, Any]], limit: int = 20) -> list[str]:
    """Why these tasks cannot be replayed on this spec (empty when they can), one line per problem."""
    cls = type(env)
    has_user = bool(cls.USER_TOOLS or cls.user_state_fields())
    if not isinstance(tasks, list) or not all(isinstance(t, dict) and "id" in t for t in tasks):
        return ["tasks.json is not a list of tasks with an id each"]
    out: list[str] = []

    def say(task: dict[str, Any], text: str) -> None:
        if len(out) < limit:
            out.append(f"task {task.get('id')}: {text}")

    for task in tasks:
        init = _initial_state(task)
        data = init.get("initialization_data") or {}
        for side, key in (("agent", "agent_data"), ("user", "user_data")):
            if data.get(key) is None:
                continue
            if side == "user" and not has_user:
                say(task, "initialization_data.user_data, but the spec has no `user state`")
            elif not isinstance(data[key], dict):
                say(task, f"initialization_data.{key} is not an object")
            else:
                unknown = sorted(set(data[key]) - set(_side_fields(env, side)))
                if unknown:
                    say(task, f"initialization_data.{key} names {', '.join(unknown)}, not {side} state fields")
        if init.get("message_history"):
            say(task, "a message_history to replay (not supported)")
        for i, call in enumerate(init.get("initialization_actions") or []):
            env_type = call.get("env_type") or "assistant"
            if env_type not in REQUESTORS:
                say(task, f"initialization action {i}: env_type {env_type!r} is neither assistant nor user")
            elif env_type == "user" and not has_user:
                say(task, f"initialization action {i} ({call.get('func_name')}) is the user's, but the spec has no "
                          "user side")
            elif _function_actor(env, env_type, str(call.get("func_name"))) is None:
                say(task, f"initialization action {i}: no env fn or {REQUESTORS[env_type]} tool "
                          f"{call.get('func_name')!r}")
        for i, action in enumerate(_criteria(task).get("actions") or []):
            requestor = action.get("requestor") or "assistant"
            if requestor not in REQUESTORS:
                say(task, f"action {i}: requestor {requestor!r} is neither assistant nor user")
            elif requestor == "user" and not cls.USER_TOOLS:
                say(task, f"action {i} ({action.get('name')}) is the user's, but the spec has no user tools")
            elif action.get("name") not in cls.tools_of(REQUESTORS[requestor]):
                say(task, f"action {i}: no {REQUESTORS[requestor]} tool {action.get('name')!r}")
        for i, a in enumerate(_criteria(task).get("env_assertions") or []):
            env_type = a.get("env_type") or "assistant"
            if env_type not in REQUESTORS:
                say(task, f"assertion {i}: env_type {env_type!r} is neither assistant nor user")
            elif _function_actor(env, env_type, str(a.get("func_name"))) is None:
                say(task, f"assertion {i}: no env fn or {REQUESTORS[env_type]} tool {a.get('func_name')!r}")
    return out


def _side_fields(env: Any, side: str) -> list[str]:
    user = set(type(env).user_state_fields())
    return [f["name"] for f in type(env).STATE_FIELDS if (f["name"] in user) == (side == "user")]


def side_hash(env: Any, side: str) -> str:
    """sha256 of one side's database as canonical JSON (sorted keys): tau2-bench's get_db_hash of that side."""
    data = env.db.data
    part = {name: data[name] for name in _side_fields(env, side)}
    return hashlib.sha256(json.dumps(part, sort_keys=True).encode()).hexdigest()


def _merge(base: Any, update: Any) -> Any:
    """tau2-bench's update_db: objects merged key by key, anything else replaced."""
    if isinstance(base, dict) and isinstance(update, dict):
        out = dict(base)
        for k, v in update.items():
            out[k] = _merge(base.get(k), v)
        return out
    return update


def initialise(env: Any, task: dict[str, Any]) -> list[str]:
    """Put the environment in the task's initial state: data merged, then the initialisation actions run.
    Returns what failed (empty when all went well)."""
    env.reset()
    init = _initial_state(task)
    data = init.get("initialization_data") or {}
    if data.get("agent_data") or data.get("user_data"):
        state = env.state()
        for key in ("agent_data", "user_data"):
            for name, value in (data.get(key) or {}).items():
                state[name] = _merge(state.get(name), value)
        env.reset(state=state)
    failures = []
    for i, call in enumerate(init.get("initialization_actions") or []):
        actor = _function_actor(env, call.get("env_type") or "assistant", call["func_name"])
        result = env.call(call["func_name"], call.get("arguments") or {}, actor=actor or "env")
        if not result.ok:
            failures.append(f"{i}: {call['func_name']}: {result.content}")
    return failures


def replay_two_actor(env: Any, tasks: list[dict[str, Any]], gold: dict[str, Any]) -> TwoActorReport:
    """Replay every task: initialisation, each gold action as its requestor's call, both databases compared by
    hash with the reference, and the assertions checked. Call replay_problems first."""
    report = TwoActorReport(domain=str(gold.get("domain", env.DOMAIN)), mode="full",
                            comparison="whole-state hash per side")
    t_setup = time.perf_counter()
    env.reset()
    report.initial_db_match = side_hash(env, "agent") == gold.get("initial_db_hash")
    by_id = {str(t["task_id"]): t for t in gold.get("tasks", [])}
    report.setup_seconds = time.perf_counter() - t_setup
    t0 = time.perf_counter()
    for task in tasks:
        task_id = str(task["id"])
        ref = by_id.get(task_id)
        if ref is None:
            continue
        report.tasks += 1
        for failure in initialise(env, task):
            report.mismatches.append(Mismatch(task_id, "init", failure.split(":", 1)[0], "error", "success", failure))
        report.init_actions += len(_initial_state(task).get("initialization_actions") or [])
        outputs = ref.get("tool_outputs") or []
        for i, action in enumerate(_criteria(task).get("actions") or []):
            actor = REQUESTORS[action.get("requestor") or "assistant"]
            result = env.call(action["name"], action.get("arguments") or {}, actor=actor)
            if i < len(outputs):
                label = f"{i}: {action['name']}" + (" (user)" if actor == "user" else "")
                compare_output(report, task_id, label, outputs[i], result)
        actual = side_hash(env, "agent")
        if actual == ref.get("db_hash"):
            report.db_match += 1
        else:
            report.mismatches.append(Mismatch(task_id, "db", None, "db_hash", ref.get("db_hash"), actual))
        if ref.get("user_db_hash") is not None:
            report.user_db_compared += 1
            actual_user = side_hash(env, "user")
            if actual_user == ref["user_db_hash"]:
                report.user_db_match += 1
            else:
                report.mismatches.append(Mismatch(task_id, "user_db", None, "user_db_hash", ref["user_db_hash"],
                                                  actual_user))
        for i, a in enumerate(_criteria(task).get("env_assertions") or []):
            report.assertions_total += 1
            actor = _function_actor(env, a.get("env_type") or "assistant", a["func_name"]) or "env"
            result = env.call(a["func_name"], a.get("arguments") or {}, actor=actor)
            want = a.get("assert_value", True)
            if result.ok and result.value is want:
                report.assertions_passed += 1
            else:
                report.mismatches.append(Mismatch(task_id, "assertion", f"{i}: {a['func_name']}",
                                                  a.get("message") or "assert_value", want,
                                                  result.value if result.ok else result.content))
    env.reset()
    report.seconds = time.perf_counter() - t0
    return report


def report_lines(report: TwoActorReport) -> list[str]:
    """The report as plain lines, saying which comparison was made."""
    lines = [f"replay of {report.domain}: {report.tasks} task(s), {report.init_actions} initialisation action(s); "
             "databases compared by whole-database hash per side",
             f"  agent databases equal: {report.db_match}/{report.tasks}",
             f"  user databases equal: {report.user_db_match}/{report.user_db_compared}"
             + ("" if report.user_db_compared == report.tasks else
                f" ({report.tasks - report.user_db_compared} reference(s) without a user database hash)"),
             f"  tool outputs identical: {report.outputs_match}/{report.outputs_total}",
             f"  assertions passed: {report.assertions_passed}/{report.assertions_total}",
             f"  initial agent database: {'equal' if report.initial_db_match else 'DIFFERS'}"]
    for m in report.mismatches[:20]:
        lines.append(f"task {m.task_id} {m.kind} {m.call or ''} at {m.where}: expected {m.expected!r}, "
                     f"got {m.actual!r}")
    if len(report.mismatches) > 20:
        lines.append(f"... and {len(report.mismatches) - 20} more")
    return lines


def report_ok(report: TwoActorReport) -> bool:
    return (report.db_match == report.tasks and report.user_db_match == report.user_db_compared
            and report.outputs_match == report.outputs_total and report.assertions_passed == report.assertions_total
            and not any(m.kind == "init" for m in report.mismatches))
