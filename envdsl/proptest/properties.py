"""The per-call properties: one call, checked every way the gate knows.

`checked_call` makes a call, checks it, undoes it, makes it again and compares, and leaves the
environment in the state after the call, so sequences of calls can go on from there. A property
that does not hold raises PropertyFailure; properties in `skip` are not checked (the runner
skips one it has already reported, to look for others behind it).
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from envdsl.proptest.domain import Domain
from envdsl.proptest.report import PropertyFailure, render_change
from envdsl.runtime.diff import state_diff
from envdsl.runtime.environment import ToolResult

REJECTED_PREFIXES = ("Error: invalid arguments for ", "Error: arguments must be a JSON object")
STRING_VALUED = ("str", "enum", "date", "datetime")  # sent as raw text (a date is its ISO text)


def runtime_rejected(r: ToolResult) -> bool:
    """True when the runtime refused the arguments themselves, before running the tool."""
    return not r.ok and r.content.startswith(REJECTED_PREFIXES)


def call(env: Any, tool: str, payload: str, skip: frozenset[str] = frozenset()) -> ToolResult:
    """env.call, where an escaping exception or an internal error is a never_raises failure
    (when never_raises is skipped, either counts as an error result)."""
    try:
        r = env.call(tool, payload)
    except Exception as e:  # noqa: BLE001 - the property under test
        if "never_raises" in skip:
            return ToolResult(False, f"Error: env.call raised {type(e).__name__}: {e}", True)
        raise PropertyFailure("never_raises", f"env.call raised {type(e).__name__}: {e}") from None
    if r.internal_error and "never_raises" not in skip:
        raise PropertyFailure("never_raises", r.content)
    return r  # type: ignore[no-any-return]


def output_problems(content: str, t: dict[str, Any], schema: Any) -> list[str]:
    """Why a successful result's content is not a value of type t (empty when it is).

    The runtime sends a str value as is and anything else as JSON, so a str-valued type
    (str, enum, ref with str keys, optionally null) is checked on the raw content."""
    base = t["of"] if t["k"] == "opt" else t
    if t["k"] == "any":
        return []
    if t["k"] == "none":  # a tool with no result shows an empty output (runtime NO_RESULT_OUTPUT)
        return [] if content == "" else [f"result: a tool with no result printed {content[:80]!r}"]
    stringy = base["k"] in STRING_VALUED or (base["k"] == "ref" and base["key"]["k"] == "str")
    if stringy:
        if t["k"] == "opt" and content == "null":
            return []
        return schema.errors(content, base, "result")  # type: ignore[no-any-return]
    try:
        value = json.loads(content, parse_constant=_reject_constant)
    except ValueError as e:
        return [f"result: not JSON ({e}): {content[:80]!r}"]
    return schema.errors(value, t, "result")  # type: ignore[no-any-return]


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _changes(before: dict[str, Any], after: dict[str, Any], limit: int = 4) -> str:
    changes = state_diff(before, after)
    shown = "; ".join(render_change(c) for c in changes[:limit])
    return shown + (f"; ... {len(changes) - limit} more" if len(changes) > limit else "")


def canonical(state: Any) -> str:
    """The state's canonical JSON, computed here from env.state(): env.state_hash() caches pieces
    between writes made through the store, so it cannot be the judge of writes that bypass it."""
    return json.dumps(state, sort_keys=True)


def check_state_hash(env: Any, text: str, skip: frozenset[str]) -> None:
    if "state_hash_matches_state" in skip:
        return
    if env.state_hash() != hashlib.sha256(text.encode()).hexdigest():
        raise PropertyFailure("state_hash_matches_state", "env.state_hash() differs from the sha256 of the "
                                                          "state's canonical JSON (a stale cached hash?)")


def checked_call(domain: Domain, env: Any, tool: str, args: dict[str, Any], skip: frozenset[str]) -> ToolResult:
    spec = env.TOOLS[tool]
    payload = json.dumps(args)
    before = env.state()
    before_hash = canonical(before)
    snap = env.snapshot()
    r = call(env, tool, payload, skip)
    after_hash = canonical(env.state())
    changed = after_hash != before_hash
    if not r.ok and changed and "failure_leaves_state_unchanged" not in skip:
        raise PropertyFailure("failure_leaves_state_unchanged",
                              f"{r.content[:200]!r}, and the state changed: {_changes(before, env.state())}")
    if r.ok and "output_matches_return_type" not in skip:
        problems = output_problems(r.content, spec.returns, env.schema())
        if problems:
            raise PropertyFailure("output_matches_return_type",
                                  f"{'; '.join(problems[:3])} (content: {r.content[:200]!r})")
    if r.ok and changed and spec.effect == "read" and "read_only" not in skip:
        raise PropertyFailure("read_only", f"the state changed: {_changes(before, env.state())}")
    if r.ok and changed and spec.effect == "write" and "write_keeps_state_valid" not in skip:
        problems = domain.state_problems(env.state())
        if problems:
            raise PropertyFailure("write_keeps_state_valid",
                                  f"{'; '.join(problems[:3])} (the call changed: {_changes(before, env.state())})")
    check_state_hash(env, after_hash, skip)
    after = env.state() if changed else before
    env.restore(snap)
    if canonical(env.state()) != before_hash:
        if "undo_restores_state" not in skip:
            raise PropertyFailure("undo_restores_state", f"after undoing the call, the state still differs: "
                                                         f"{_changes(before, env.state())} (a write that bypasses db?)")
        env.reset(state=before)
    r2 = call(env, tool, payload, skip)
    if "deterministic" not in skip:
        if (r2.ok, r2.content) != (r.ok, r.content):
            raise PropertyFailure("deterministic", f"first {r.content[:150]!r}, then {r2.content[:150]!r}")
        if canonical(env.state()) != after_hash:
            raise PropertyFailure("deterministic", f"the two calls left different states: "
                                                   f"{_changes(after, env.state())}")
    return r
