"""Which tools a set of tasks exercises: per tool, how many tasks make a successful gold call of it."""

from __future__ import annotations

from typing import Any


def tool_coverage(tasks: list[dict[str, Any]], ir: dict[str, Any]) -> dict[str, Any]:
    """{"per_tool": {tool: tasks using it}, "writes_covered": k, "writes": n, "missing_writes": [...]}
    (transfer tools are not steps of a request and are left out)."""
    transfer = set((ir.get("rules") or {}).get("transfer") or [])
    tools = [t for t in ir["tools"] if t["name"] not in transfer]
    per_tool = {t["name"]: 0 for t in tools}
    for task in tasks:
        # a two-actor task's user actions exercise the user's tools
        for name in {c["name"] for c in task["gold_calls"] + task.get("user_actions", []) if c["ok"]}:
            if name in per_tool:
                per_tool[name] += 1
    writes = [t["name"] for t in tools if t["effect"] == "write"]
    missing = [w for w in writes if not per_tool[w]]
    return {"per_tool": per_tool, "writes": len(writes), "writes_covered": len(writes) - len(missing),
            "missing_writes": missing}
