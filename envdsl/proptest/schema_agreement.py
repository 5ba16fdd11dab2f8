"""The published tool schema and the runtime's argument validation must agree, both ways.

Arguments are drawn from the JSON schema (they must pass the runtime's validation) or are near
misses of such arguments, judged by schema_check, an independent validator: what the schema
rejects the runtime must reject, and what it accepts the runtime must accept. Calls run on the
seed state and are undone after.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import strategies as st

from envdsl.proptest.domain import Domain
from envdsl.proptest.properties import call, runtime_rejected
from envdsl.proptest.report import PropertyFailure
from envdsl.proptest.schema_check import schema_problems
from envdsl.proptest.schema_mutations import all_near_misses, draw_near_miss
from envdsl.proptest.schema_strategy import from_schema


def agreement_failure(env: Any, tool: str, args: Any, params: dict[str, Any], skip: frozenset[str]
                      ) -> PropertyFailure | None:
    """Call with `args` (undone after) and compare the runtime's verdict with the schema's."""
    problems = schema_problems(args, params)
    snap = env.snapshot()
    try:
        r = call(env, tool, json.dumps(args), skip)
    except PropertyFailure as e:
        e.start, e.calls = "seed state", [{"tool": tool, "args": args}]
        raise
    finally:
        env.restore(snap)
    failure = None
    if not problems and runtime_rejected(r) and "schema_accepts_valid" not in skip:
        failure = PropertyFailure("schema_accepts_valid", f"the JSON schema accepts the arguments, the runtime "
                                                          f"says {r.content[:300]!r}")
    elif problems and not runtime_rejected(r) and "schema_rejects_invalid" not in skip:
        failure = PropertyFailure("schema_rejects_invalid", f"the JSON schema rejects the arguments "
                                                            f"({'; '.join(problems[:2])}), the runtime accepted "
                                                            f"them and answered {r.content[:160]!r}")
    if failure is not None:
        failure.start, failure.calls = "seed state", [{"tool": tool, "args": args}]
    return failure


def edge_sweep(domain: Domain, tool: str) -> tuple[list[PropertyFailure], int]:
    """Every single-change near miss of the simplest schema-valid arguments, in order: bounds are
    where validators disagree, and drawing them at random would find them too rarely. Returns the
    first failure of each property, and how many argument sets were tried."""
    env = domain.new_env()
    params = domain.tool_schemas[tool]["function"]["parameters"]
    base = simplest_value(params)
    if schema_problems(base, params):  # no simple valid arguments: the drawn test covers this tool
        return [], 0
    found: dict[str, PropertyFailure] = {}
    candidates = [base] + all_near_misses(base, params)
    for args in candidates:
        try:
            failure = agreement_failure(env, tool, args, params, frozenset(found))
        except PropertyFailure as e:
            failure = e
        if failure is not None and failure.prop not in found:
            found[failure.prop] = failure
    return list(found.values()), len(candidates)


def simplest_value(s: dict[str, Any]) -> Any:
    """A small value the schema accepts (most of the time; the caller checks): first enum member,
    first alternative, bounds clamped around 0, minimum lengths, required properties only."""
    import random

    from envdsl.runtime.generate import sample_regex

    if "enum" in s:
        return s["enum"][0]
    if "anyOf" in s:
        return simplest_value(s["anyOf"][0])
    t = s.get("type")
    t = t[0] if isinstance(t, list) else t
    if t in ("integer", "number"):
        lo, hi = s.get("minimum", 0), s.get("maximum", max(0, s.get("minimum", 0)))
        value = min(max(0, lo), hi)
        return int(-(-value // 1)) if t == "integer" else value
    if t == "string":
        if "pattern" in s:
            return sample_regex(s["pattern"], random.Random(0))
        return "a" * s.get("minLength", 0)
    if t == "boolean":
        return False
    if t == "array":
        return [simplest_value(s.get("items", {})) for _ in range(s.get("minItems", 0))]
    if t == "object":
        props = s.get("properties", {})
        return {k: simplest_value(props.get(k, {})) for k in s.get("required", [])}
    return None


def schema_body(domain: Domain, tool: str) -> Any:
    env = domain.new_env()
    params = domain.tool_schemas[tool]["function"]["parameters"]
    valid = from_schema(params)

    def body(data: Any, skip: frozenset[str]) -> None:
        args = data.draw(valid, label="schema-valid args")
        if data.draw(st.booleans(), label="near miss"):
            args = draw_near_miss(data.draw, args, params)
        failure = agreement_failure(env, tool, args, params, skip)
        if failure is not None:
            raise failure

    return body
