"""`envdsl replay`: run a benchmark's gold actions on a compiled environment and compare outcomes.

The reference is tau2-bench's format (see ../shared/data/tau2/README.md): tasks.json with
gold actions per task, and gold_replay.json with what the benchmark's own code output for
each call and how each task changed the database. A task matches when every tool output is
the identical string and the final database is equal as canonical JSON (so 1 != 1.0 and float
artifacts must have the same bits).

Two ways to compare databases, which must agree (the tests check both):
- fast: only the entities the replay changed (from the journal) or the gold delta names are
  compared, against the initial entity with the gold delta applied. Untouched entities are
  equal by construction, because every write goes through the journal.
- full: sha256 of the whole canonical state against the benchmark's db_hash.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from envdsl.runtime.diff import state_diff

_MISSING = object()
# what each mode compares, named in every output so that a count says what it counts
COMPARISONS = {"fast": "entity deltas", "full": "whole-state hash"}


@dataclass
class Mismatch:
    task_id: str
    kind: str  # "output" | "error_flag" | "db"
    call: str | None  # "3: get_order_details" for outputs; None for the database
    where: str  # the first differing path, or the character offset in the output
    expected: Any
    actual: Any


@dataclass
class ReplayReport:
    domain: str
    tasks: int = 0
    db_match: int = 0
    outputs_total: int = 0
    outputs_match: int = 0
    initial_db_match: bool = False
    mode: str = "fast"
    # which comparison decided "final databases equal": "entity deltas", "whole-state hash" or "v1 hash"
    comparison: str = ""
    seconds: float = 0.0  # the per-task work: fresh environment, replay, comparison
    setup_seconds: float = 0.0  # once per run: initial hash check and the state's owner index
    mismatches: list[Mismatch] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        out["seconds"] = round(self.seconds, 3)
        out["setup_seconds"] = round(self.setup_seconds, 3)
        return out


def load_reference(tasks_dir: str | Path) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    d = Path(tasks_dir)
    tasks = json.loads((d / "tasks.json").read_text(encoding="utf-8"))
    gold = json.loads((d / "gold_replay.json").read_text(encoding="utf-8"))
    return tasks, gold


def replay(env: Any, tasks: list[dict[str, Any]], gold: dict[str, Any], mode: str = "fast") -> ReplayReport:
    """Replay every task's gold actions on a fresh (reset) environment and compare with the reference."""
    report = ReplayReport(domain=str(gold.get("domain", env.DOMAIN)), mode=mode)
    report.comparison = COMPARISONS[mode]
    t_setup = time.perf_counter()
    env.reset()
    report.initial_db_match = env.state_hash() == gold.get("initial_db_hash")
    env.changed_entities()  # index the state once, before any write
    by_id = {str(t["task_id"]): t for t in gold["tasks"]}
    report.setup_seconds = time.perf_counter() - t_setup
    t0 = time.perf_counter()
    for task in tasks:
        task_id = str(task["id"])
        ref = by_id.get(task_id)
        if ref is None:
            continue
        report.tasks += 1
        env.reset()
        actions = (task.get("evaluation_criteria") or {}).get("actions") or []
        outputs = ref["tool_outputs"]
        for i, (action, expected) in enumerate(zip(actions, outputs)):
            result = env.call(action["name"], action.get("arguments") or {})
            compare_output(report, task_id, f"{i}: {action['name']}", expected, result)
        diff = _db_difference(env, ref) if mode == "fast" else _db_difference_full(env, ref)
        if diff is None:
            report.db_match += 1
        else:
            report.mismatches.append(Mismatch(task_id, "db", None, *diff))
    env.reset()
    report.seconds = time.perf_counter() - t0
    return report


def compare_output(report: ReplayReport, task_id: str, label: str, expected: dict[str, Any], result: Any) -> None:
    """Count one tool output against the reference's (text and error flag), recording where it first differs."""
    report.outputs_total += 1
    if result.content == expected["output"] and (not result.ok) == bool(expected["error"]):
        report.outputs_match += 1
    elif result.content != expected["output"]:
        at = _first_difference(expected["output"], result.content)
        report.mismatches.append(Mismatch(task_id, "output", label, f"char {at}",
                                          _excerpt(expected["output"], at), _excerpt(result.content, at)))
    else:
        report.mismatches.append(Mismatch(task_id, "error_flag", label, "error", bool(expected["error"]),
                                          not result.ok))


def _db_difference(env: Any, ref: dict[str, Any]) -> tuple[str, Any, Any] | None:
    """Compare only the entities that the replay or the gold delta touched.

    Their final values are read, then the environment is reset (cost: the writes made) and their
    initial values are read, so no copy of the whole database is ever made."""
    collections = env._collection_names()
    roots = set(env.changed_entities())
    for change in ref["delta_agent"]:
        path = change["path"]
        roots.add((path[0], path[1]) if path[0] in collections and len(path) > 1 else (path[0], None))
    ordered = sorted(roots, key=lambda r: (r[0], str(r[1])))
    finals = [_canonical(_value_at(env.db.data, root)) for root in ordered]
    env.reset()
    for root, actual_text in zip(ordered, finals):
        prefix = [root[0]] if root[1] is None else [root[0], root[1]]
        expected = _apply_delta(_value_at(env.db.data, root), prefix, ref["delta_agent"])
        if _canonical(expected) != actual_text:
            actual = json.loads(actual_text) if actual_text != "<missing>" else _MISSING
            return _describe(prefix, expected, actual)
    return None


def _value_at(data: dict[str, Any], root: tuple[str, Any]) -> Any:
    field_name, key = root
    if key is None:
        return data.get(field_name, _MISSING)
    return data.get(field_name, {}).get(key, _MISSING)


def _db_difference_full(env: Any, ref: dict[str, Any]) -> tuple[str, Any, Any] | None:
    actual = env.state_hash()
    if actual == ref["db_hash"]:
        return None
    return ("db_hash", ref["db_hash"], actual)


def _apply_delta(base: Any, prefix: list[Any], delta: list[dict[str, Any]]) -> Any:
    """The value at `prefix` after applying the gold delta entries under it."""
    value = json.loads(json.dumps(base)) if base is not _MISSING else _MISSING
    for change in delta:
        path = change["path"]
        if path[:len(prefix)] != prefix:
            continue
        rest = path[len(prefix):]
        if not rest:
            value = change["after"] if change["op"] != "remove" else _MISSING
            continue
        node = value
        for step in rest[:-1]:
            node = node[step]
        if change["op"] == "remove":
            del node[rest[-1]]
        else:
            node[rest[-1]] = change["after"]
    return value


def _canonical(v: Any) -> str:
    return "<missing>" if v is _MISSING else json.dumps(v, sort_keys=True)


def _describe(prefix: list[Any], expected: Any, actual: Any) -> tuple[str, Any, Any]:
    if expected is _MISSING or actual is _MISSING:
        return (_path_text(prefix), None if expected is _MISSING else "<present>",
                None if actual is _MISSING else "<present>")
    changes = state_diff(expected, actual)
    if not changes:  # equal values of different JSON types, such as 1 and 1.0
        return (_path_text(prefix), _canonical(expected)[:200], _canonical(actual)[:200])
    first = changes[0]
    return (_path_text(prefix + first["path"]), first.get("before"), first.get("after"))


def _path_text(path: list[Any]) -> str:
    return "".join(f"[{p!r}]" if i else str(p) for i, p in enumerate(path))


def _first_difference(a: str, b: str) -> int:
    for i, (x, y) in enumerate(zip(a, b)):
        if x != y:
            return i
    return min(len(a), len(b))


def _excerpt(text: str, at: int, width: int = 60) -> str:
    start = max(0, at - width // 2)
    return ("..." if start else "") + text[start:at + width // 2] + ("..." if at + width // 2 < len(text) else "")


def final_db_matches(env: Any, trajectory: list[dict[str, Any]], gold_actions: list[dict[str, Any]]) -> bool:
    """The DB check of one task, computed now from the task and an agent trajectory: does replaying the
    trajectory leave the same database as running the task's gold actions, both from the initial state?

    This is the verdict of tau2-bench's evaluator (sha256 of the two final databases, equal or not), by
    another route: every write goes through the undo journal, so entities that neither run changed are
    equal by construction, and only those either run touched are compared, as canonical JSON. Both runs
    use the one environment, put back by reset() (cost: the writes made). A trajectory call may carry the
    "output" it produced in the conversation; like tau2-bench's evaluator, a replay that gives another
    output is an error (ValueError), not a verdict. (One known difference from tau2-bench, see README: a
    write that fails part-way keeps its partial changes there and none here.)"""
    env.reset()
    for i, call in enumerate(trajectory):
        result = env.call(call["name"], call.get("arguments") or {})
        expected = call.get("output")
        if expected is not None and result.content != expected and not _same_json(result.content, expected):
            raise ValueError(f"trajectory call {i} ({call['name']}) replays to another output than recorded")
    agent_roots = env.changed_entities()
    agent = {root: _canonical(_value_at(env.db.data, root)) for root in agent_roots}
    env.reset()
    for action in gold_actions:
        env.call(action["name"], action.get("arguments") or {})
    gold_roots = env.changed_entities()
    data = env.db.data
    match = all(_canonical(_value_at(data, root)) == text for root, text in agent.items())
    gold_only = [root for root in gold_roots if root not in agent]
    if match and gold_only:
        gold = [_canonical(_value_at(data, root)) for root in gold_only]
        env.reset()  # entities only the gold run changed: the agent left them as they were at the start
        data = env.db.data
        match = all(_canonical(_value_at(data, root)) == text for root, text in zip(gold_only, gold))
    env.reset()
    return match


def _same_json(a: str, b: str) -> bool:
    try:
        return bool(json.loads(a) == json.loads(b))
    except ValueError:
        return False
