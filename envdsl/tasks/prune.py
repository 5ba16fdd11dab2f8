"""Leaving out of a write task the reads nobody needed: a random walk may look something up and then
act on something else; a person with one request would not ask for that lookup.

A successful read whose output gives no argument of a later call is dropped (reads never change the
state, so the gold state stays the same); user facts follow their values to the calls that still use
them. Read-only tasks are left whole: there the reads are the request."""

from __future__ import annotations

import json
from typing import Any

from envdsl.tasks.ownership import leaves


def prune_unneeded_reads(calls: list[dict[str, Any]], facts: list[dict[str, Any]], effects: dict[str, str]
                         ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if all(effects[c["name"]] == "read" for c in calls):
        return calls, facts
    args = [list(leaves(json.loads(c["arguments"]))) for c in calls]
    keep: list[int] = []
    known = {f["value"] for f in facts if _meaningful(f["value"])}  # what the user can say anyway
    for i, c in enumerate(calls):
        try:
            out = {v for v in leaves(json.loads(c["output"])) if _meaningful(v)}
        except ValueError:
            out = {c["output"]} if _meaningful(c["output"]) else set()
        if effects[c["name"]] == "write" or not c["ok"] or (i > 0 and not calls[i - 1]["ok"]):
            keep.append(i)  # writes, and a failed call with its recovery, always stay
        elif any(v in out - known for later in args[i + 1:] for v in later if _meaningful(v)):
            keep.append(i)  # it shows something a later call needs and nobody said before
        else:
            continue
        known |= out
    if len(keep) == len(calls):
        return calls, facts
    kept_calls = [calls[i] for i in keep]
    kept_facts = []
    for f in facts:
        uses = [n for n, c in enumerate(kept_calls) if f["param"] in json.loads(c["arguments"])
                and json.loads(c["arguments"])[f["param"]] in (f["value"], f.get("wrong_first"))]
        if uses:
            kept_facts.append({**f, "step": uses[0]})
    return kept_calls, kept_facts


def _meaningful(v: Any) -> bool:
    """A value specific enough to say it was read from an output (ids, names), not a flag or a count."""
    return isinstance(v, str) and len(v) >= 2
