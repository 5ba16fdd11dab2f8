"""Changes from one JSON state to another: [{path, op: add|remove|change, before?, after?}].

Lists are compared whole (one `change` holding both lists), as tau2-bench's deltas do, because
list order matters. Equal values of different JSON types (1 and 1.0) count as a change.
Used by task sampling (gold diffs), the property gate (reproductions), replay and the CLI.
"""

from __future__ import annotations

from typing import Any


def state_diff(before: Any, after: Any, path: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    if isinstance(before, dict) and isinstance(after, dict):
        out: list[dict[str, Any]] = []
        for k in before:
            if k not in after:
                out.append({"path": list(path + (k,)), "op": "remove", "before": before[k]})
            else:
                out.extend(state_diff(before[k], after[k], path + (k,)))
        for k in after:
            if k not in before:
                out.append({"path": list(path + (k,)), "op": "add", "after": after[k]})
        return out
    if before == after and type(before) is type(after):
        return []
    return [{"path": list(path), "op": "change", "before": before, "after": after}]
