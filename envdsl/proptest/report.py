"""Gate failures as small reproductions in the domain's own terms, and their text/JSON forms."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any

# Every property the gate checks, with what it expects (the text a report shows).
PROPERTIES = {
    "never_raises": "the call returns a result (an error result at worst): no exception, no internal error",
    "output_matches_return_type": "a successful result parses as the tool's declared return type",
    "deterministic": "the same state and arguments give the same result and the same new state",
    "read_only": "a read tool leaves the state unchanged",
    "failure_leaves_state_unchanged": "a failed call leaves the state exactly as it was",
    "write_keeps_state_valid": "after a successful write the state is valid: schema, keys, references, invariants",
    "state_hash_matches_state": "env.state_hash() is the sha256 of the state's canonical JSON after every call",
    "undo_restores_state": "undoing a call (restore to a snapshot) gives back the state before it",
    "schema_accepts_valid": "arguments the published JSON schema accepts pass the runtime's argument validation",
    "schema_rejects_invalid": "arguments the published JSON schema rejects are rejected by the runtime",
    "seed_state_valid": "the seed state is valid: schema, keys, references, invariants",
    "generated_state_valid": "the runtime generator makes valid states",
    "compiles": "the spec compiles and its package loads",
}


class PropertyFailure(Exception):
    """Raised inside a hypothesis example when a property does not hold; hypothesis shrinks it."""

    def __init__(self, prop: str, actual: str, expected: str | None = None):
        super().__init__(f"{prop}: {actual}")
        self.prop = prop
        self.actual = actual
        self.expected = expected or PROPERTIES[prop]
        self.start: str = ""
        self.start_diff: list[dict[str, Any]] = []
        self.calls: list[dict[str, Any]] = []


@dataclass
class Failure:
    domain: str
    property: str
    test: str  # which generated test found it: "tool get_book", "schema lend_book", "sequence", ...
    expected: str
    actual: str
    # where the calls start: "seed state" or "generated state (seed N)" (generate_state(cls, N)), plus
    # the drawn edits to it as envdsl.runtime.diff.state_diff(that state, start state)
    start: str = ""
    start_diff: list[dict[str, Any]] = field(default_factory=list)
    calls: list[dict[str, Any]] = field(default_factory=list)  # {"tool": name, "args": {...}}

    @classmethod
    def from_exception(cls, domain: str, test: str, e: PropertyFailure) -> "Failure":
        return cls(domain, e.prop, test, e.expected, e.actual, e.start, e.start_diff, e.calls)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def render(self, max_changes: int = 12) -> str:
        lines = [f"FAIL {self.domain}: {self.property} ({self.test})"]
        if self.start:
            n = len(self.start_diff)
            lines.append(f"  start: {self.start}" + (f", then {n} change(s) from it:" if n else ""))
            for change in self.start_diff[:max_changes]:
                lines.append("    " + render_change(change))
            if n > max_changes:
                lines.append(f"    ... {n - max_changes} more")
        if self.calls:
            lines.append("  calls:")
            for i, c in enumerate(self.calls, 1):
                lines.append(f"    {i}. {c['tool']} {json.dumps(c['args'], sort_keys=True, ensure_ascii=False)}")
        lines.append(f"  expected: {self.expected}")
        lines.append(f"  got: {self.actual}")
        return "\n".join(lines)


def render_change(change: dict[str, Any]) -> str:
    path = ".".join(str(p) for p in change["path"]) or "(state)"
    if change["op"] == "add":
        return f"+ {path} = {_short(change['after'])}"
    if change["op"] == "remove":
        return f"- {path} (was {_short(change['before'])})"
    return f"~ {path}: {_short(change['before'])} -> {_short(change['after'])}"


def _short(v: Any, limit: int = 120) -> str:
    text = json.dumps(v, sort_keys=True, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 3] + "..."
