"""Whether `envdsl replay` can make the comparison it was asked for, before it prints any count.

A count of "databases equal" means something only if every task was compared the way the output says.
So the replay refuses (message, non-zero exit) instead of counting when the input cannot support the
requested comparison: a folder in another benchmark's layout (tau-bench v1's Python task files),
reference entries without the field the comparison reads (`delta_agent` for entity deltas, `db_hash`
for the whole-state hash), tasks without a reference entry, or nothing to compare at all.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

_NEEDS = {"fast": ("delta_agent", "entity deltas"), "full": ("db_hash", "whole-state hash")}


def tau2_layout_problem(tasks_dir: str | Path) -> str | None:
    """Why DIR is not a tau2-bench replay folder (tasks.json and gold_replay.json), if it is not."""
    d = Path(tasks_dir)
    if not d.is_dir():
        return f"{d} is not a folder (give the folder holding tasks.json and gold_replay.json)"
    missing = [name for name in ("tasks.json", "gold_replay.json") if not (d / name).is_file()]
    if not missing:
        return None
    v1 = sorted(p.name for p in d.glob("tasks*.py")) or sorted(p.name for p in d.glob("*/tasks*.py"))
    if v1:
        return (f"{d} holds tau-bench (v1) task files ({', '.join(v1)}), not tau2-bench's layout; replay them "
                "with --v1 TASKS_FILE --v1-reference REF.json (README, \"tau-bench v1\")")
    return f"{d} has no {' and no '.join(missing)} (tau2-bench's layout, see ../shared/data/tau2/README.md)"


def tau2_comparison_problem(tasks: Any, gold: Any, mode: str) -> str | None:
    """Why the `mode` comparison cannot be made for these tasks and this reference, if it cannot."""
    field, what = _NEEDS[mode]
    if not isinstance(tasks, list) or not isinstance(gold, dict) or not isinstance(gold.get("tasks"), list):
        return "tasks.json must be a list and gold_replay.json an object with a list of tasks"
    refs = {str(t.get("task_id")): t for t in gold["tasks"] if isinstance(t, dict)}
    ids = [str(t.get("id")) for t in tasks if isinstance(t, dict)]
    if not ids:
        return "tasks.json holds no tasks: there is nothing to compare"
    unmatched = [i for i in ids if i not in refs]
    if unmatched:
        return (f"{len(unmatched)} of {len(ids)} tasks have no entry in gold_replay.json (first: {unmatched[0]}); "
                "a count over the others would not be a count of the benchmark's tasks")
    lacking = [i for i in ids if field not in refs[i]]
    if lacking:
        other = "full" if mode == "fast" else "fast"
        flag = "--full" if other == "full" else "without --full"
        return (f"the {what} comparison reads `{field}`, which {len(lacking)} of {len(ids)} reference entries lack "
                f"(first: task {lacking[0]}); try the {_NEEDS[other][1]} comparison ({flag}) "
                f"if the reference has `{_NEEDS[other][0]}`")
    if mode == "full" and "initial_db_hash" not in gold:
        return "the whole-state hash comparison needs the reference's initial_db_hash as well"
    return None
