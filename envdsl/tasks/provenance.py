"""The check that every gold argument is something the agent can know when it makes the call:
a fact the user states, or a value in the output of an earlier successful call."""

from __future__ import annotations

import json
from typing import Any

from envdsl.tasks.arguments import OutputPool, _same


def provenance_problems(task: dict[str, Any]) -> list[str]:
    """One line per gold argument with no source; empty when the task is sound."""
    facts: list[Any] = []
    for f in task["user_facts"]:
        facts.append(f["value"])
        if "wrong_first" in f:
            facts.append(f["wrong_first"])
    pool = OutputPool()
    problems = []
    for i, call in enumerate(task["gold_calls"]):
        try:
            args = json.loads(call["arguments"])
        except ValueError:
            problems.append(f"call {i} ({call['name']}): arguments are not JSON")
            continue
        for name, value in args.items():
            from_user = any(_same(value, v) or (value == v and not isinstance(value, (int, float, str)))
                            for v in facts)
            from_output = not isinstance(value, (dict, list)) and pool.contains(value)
            if not (from_user or from_output):
                problems.append(f"call {i} ({call['name']}): argument {name}={json.dumps(value)} is neither a "
                                "user fact nor in an earlier output")
        if call.get("ok"):
            try:
                pool.add(json.loads(call["output"]), i)
            except ValueError:
                pool.add(call["output"], i)  # a plain text result
    return problems
