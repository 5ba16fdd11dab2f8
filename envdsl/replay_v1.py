"""`envdsl replay --v1`: replay tau-bench (v1) tasks and compare with v1's own data hash.

v1 judges a task's database outcome by one hash: the data (a dict of the domain's JSON files) is turned
into nested tuples, every dict into a tuple of (key, value) pairs sorted by key and every list into a
tuple, and sha256 is taken of the UTF-8 of Python's text of that tuple. So the hash sees Python's
`repr` of every scalar: 5 and 5.0 differ, True is not 1, a missing key is not a key holding None. It
does not see dict key order. `v1_data_hash` computes the same bytes from envdsl's state.

v1's tasks are Python source (tau_bench/envs/<domain>/tasks_test.py: a list of Task(...) calls, or of
dicts in the older tasks.py). They are read here without running them: the file is parsed and only
literals are taken from it (`ast.literal_eval` on each value); anything else is refused with its line.
A JSON list of tasks ({"actions": [{"name", "kwargs"}]}) is read too.

The expected hashes cannot come from the task file: they are what v1's own code computes after running
each task's gold actions. benchmarks/taubench_v1_reference.py produces them from a v1 checkout; this
module only compares. Without such a reference there is no v1 comparison to make, and the CLI refuses.
"""

from __future__ import annotations

import ast
import hashlib
import json
import time
from pathlib import Path
from typing import Any

from envdsl.replay import Mismatch, ReplayReport

REFERENCE_FORMAT = "tau-bench-v1-reference"
COMPARISON = "v1 hash"
_MAX_TASK_FILE = 50 * 1024 * 1024
_MAX_DATA_FILE = 512 * 1024 * 1024


class V1FormatError(ValueError):
    """A v1 task file, data folder or reference that cannot be read; the message says where and why."""


# ---- v1's data hash -------------------------------------------------------------------------------
def _as_tuples(value: Any) -> Any:
    if isinstance(value, dict):
        return tuple((key, _as_tuples(value[key])) for key in sorted(value))
    if isinstance(value, list):
        return tuple(_as_tuples(x) for x in value)
    return value


def v1_data_hash(data: dict[str, Any]) -> str:
    """The hash tau-bench (v1) gives this data: sha256 of the text of its sorted nested-tuple form."""
    return hashlib.sha256(str(_as_tuples(data)).encode("utf-8")).hexdigest()


# ---- v1 task files ---------------------------------------------------------------------------------
def read_v1_tasks(path: str | Path) -> list[dict[str, Any]]:
    """Tasks as [{"index", "user_id", "actions": [{"name", "arguments"}]}] from a v1 task file (.py or .json)."""
    p = Path(path)
    if not p.is_file():
        raise V1FormatError(f"{p}: no such file (give tau_bench/envs/<domain>/tasks_test.py or a JSON task list)")
    if p.stat().st_size > _MAX_TASK_FILE:
        raise V1FormatError(f"{p}: larger than {_MAX_TASK_FILE // (1024 * 1024)} MiB")
    text = p.read_text(encoding="utf-8", errors="strict")
    raw = _tasks_from_json(p, text) if p.suffix == ".json" else _tasks_from_python(p, text)
    return [_task(p, i, t) for i, t in enumerate(raw)]


def _tasks_from_json(p: Path, text: str) -> list[Any]:
    try:
        data = json.loads(text)
    except ValueError as e:
        raise V1FormatError(f"{p}: not JSON: {e}") from None
    if isinstance(data, dict) and isinstance(data.get("tasks"), list):
        data = data["tasks"]
    if not isinstance(data, list):
        raise V1FormatError(f"{p}: expected a list of tasks")
    return data


def _tasks_from_python(p: Path, text: str) -> list[Any]:
    try:
        tree = ast.parse(text, filename=str(p))
    except (SyntaxError, ValueError, RecursionError, MemoryError) as e:
        raise V1FormatError(f"{p}: not a readable Python task file: {type(e).__name__}: {e}") from None
    lists = [node.value for node in tree.body
             if isinstance(node, (ast.Assign, ast.AnnAssign)) and isinstance(node.value, ast.List)
             and any(isinstance(t, ast.Name) and t.id in ("TASKS", "tasks")
                     for t in (node.targets if isinstance(node, ast.Assign) else [node.target]))]
    if not lists:
        raise V1FormatError(f"{p}: no `TASKS = [...]` (or `tasks = [...]`) list at the top level")
    return [_literal_task(p, element) for element in lists[0].elts]


def _literal(p: Path, node: ast.expr) -> Any:
    try:
        return ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, RecursionError, MemoryError):
        raise V1FormatError(f"{p}:{node.lineno}: only literal values are read from a task file") from None


def _call_fields(p: Path, node: ast.expr, name: str) -> dict[str, ast.expr] | None:
    """The keyword arguments of `name(...)`, or None when node is not such a call."""
    if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == name):
        return None
    if node.args or any(k.arg is None for k in node.keywords):
        raise V1FormatError(f"{p}:{node.lineno}: {name}(...) must give its fields by name")
    return {k.arg: k.value for k in node.keywords if k.arg is not None}


def _literal_task(p: Path, node: ast.expr) -> Any:
    fields = _call_fields(p, node, "Task")
    if fields is None:
        return _literal(p, node)  # the older tasks.py: a list of dicts
    task: dict[str, Any] = {k: _literal(p, v) for k, v in fields.items() if k != "actions"}
    actions = fields.get("actions")
    if not isinstance(actions, ast.List):
        raise V1FormatError(f"{p}:{node.lineno}: Task(...) needs actions=[...]")
    task["actions"] = []
    for a in actions.elts:
        afields = _call_fields(p, a, "Action")
        task["actions"].append(_literal(p, a) if afields is None else {k: _literal(p, v) for k, v in afields.items()})
    return task


def _task(p: Path, index: int, t: Any) -> dict[str, Any]:
    if not isinstance(t, dict) or not isinstance(t.get("actions"), list):
        raise V1FormatError(f"{p}: task {index} has no list of actions")
    actions = []
    for j, a in enumerate(t["actions"]):
        args = a.get("kwargs", a.get("arguments", {})) if isinstance(a, dict) else None
        if not isinstance(a, dict) or not isinstance(a.get("name"), str) or not isinstance(args, dict):
            raise V1FormatError(f"{p}: task {index}, action {j}: needs a name and kwargs")
        actions.append({"name": a["name"], "arguments": args})
    return {"index": index, "user_id": t.get("user_id"), "actions": actions}


# ---- v1 data and the reference ---------------------------------------------------------------------
def read_v1_data(folder: str | Path, fields: list[str]) -> dict[str, Any]:
    """v1's data as one state: FOLDER/<field>.json for every state field of the spec (flights.json, ...)."""
    d = Path(folder)
    out: dict[str, Any] = {}
    for name in fields:
        f = d / f"{name}.json"
        if not f.is_file():
            raise V1FormatError(f"{d}: no {name}.json (v1 keeps each part of the data in its own file)")
        if f.stat().st_size > _MAX_DATA_FILE:
            raise V1FormatError(f"{f}: too large")
        try:
            out[name] = json.loads(f.read_text(encoding="utf-8"))
        except ValueError as e:
            raise V1FormatError(f"{f}: not JSON: {e}") from None
    return out


def read_v1_reference(path: str | Path) -> dict[str, Any]:
    p = Path(path)
    try:
        ref = json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise V1FormatError(f"{p}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise V1FormatError(f"{p}: not JSON: {e}") from None
    if not isinstance(ref, dict) or ref.get("format") != REFERENCE_FORMAT or not isinstance(ref.get("tasks"), list):
        raise V1FormatError(f"{p}: not a v1 reference (format {REFERENCE_FORMAT!r}, written by "
                            "benchmarks/taubench_v1_reference.py from v1's own code)")
    for t in ref["tasks"]:
        if not (isinstance(t, dict) and isinstance(t.get("index"), int) and isinstance(t.get("data_hash"), str)):
            raise V1FormatError(f"{p}: every task needs an int index and a data_hash")
    return ref


# ---- the replay -----------------------------------------------------------------------------------
def replay_v1(env: Any, tasks: list[dict[str, Any]], reference: dict[str, Any]) -> ReplayReport:
    """Run each task's gold actions from the environment's current state (put back after each task) and
    compare v1's hash of the result with the reference's. The actions v1's evaluator skips (the
    terminating tools, and `respond`, which talks to the user) are skipped here too. Tool outputs are
    compared with v1's observations as well, as strings; they count apart from the verdict, since v1's
    outputs follow its own dict key order and error wording."""
    report = ReplayReport(domain=str(reference.get("domain", env.DOMAIN)), mode="v1")
    report.comparison = COMPARISON
    skip = set(reference.get("terminate_tools") or []) | {"respond"}
    by_index = {t["index"]: t for t in reference["tasks"]}
    t_setup = time.perf_counter()
    mark = env.db.mark()
    report.initial_db_match = v1_data_hash(env.db.data) == reference.get("initial_data_hash")
    report.setup_seconds = time.perf_counter() - t_setup
    t0 = time.perf_counter()
    for task in tasks:
        ref = by_index.get(task["index"])
        if ref is None:
            continue
        report.tasks += 1
        task_id = str(task["index"])
        calls = [a for a in task["actions"] if a["name"] not in skip]
        outputs = ref.get("outputs") or []
        for i, action in enumerate(calls):
            result = env.call(action["name"], action["arguments"])
            if i < len(outputs):
                report.outputs_total += 1
                if result.content == outputs[i]:
                    report.outputs_match += 1
        actual = v1_data_hash(env.db.data)
        if actual == ref["data_hash"]:
            report.db_match += 1
        else:
            report.mismatches.append(Mismatch(task_id, "db", None, "v1 data hash", ref["data_hash"], actual))
        env.db.rollback(mark)
    report.seconds = time.perf_counter() - t0
    return report
