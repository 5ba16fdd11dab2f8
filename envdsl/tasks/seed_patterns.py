"""Generated states shaped like the seed state where the seed shows a pattern, and varied where real data is.

Why: a write tool whose precondition never holds in any initial state is never exercised by a task
(projects' `archive_project` needs a lead who is a member of an unarchived project whose issues are all
finished; every generated state broke one of the three: a random lead outside the random member list,
`archived` true half the time, and every project given a random mix of issues). Three general rules fix
that, each learned from the seed state or the IR, none per domain:
- a reference that the seed's records always list in one of their own lists (a project's `lead` among
  its `members`) is listed there;
- a true/false field takes the seed's share of true (most projects are not archived), not a coin flip;
- in about half the generated states one parent record has no children yet (a new project without
  issues, a customer without orders), as real data has; children nothing else refers to are dropped
  for it, so states with "all of a parent's X are done" exist for tools that need it.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from envdsl.ir.rules import PolicyRules

_MOST = 0.9


def seed_pattern_repair(seed: dict[str, Any], ir: dict[str, Any],
                        rules: PolicyRules) -> Callable[[dict[str, Any], random.Random], None]:
    colls = {f["name"]: f for f in ir.get("state", []) if f.get("kind") == "collection"}
    records = {r["name"]: r for r in ir.get("records", [])}
    listed = _listed_own_refs(seed, colls, records)
    shares = _true_shares(seed, colls, records)
    in_lists = {o.collection for o in rules.owned if o.via == "list"}  # an owner's list would name them still
    quiet = [q for q in _quiet_candidates(colls, records) if q[0] not in in_lists]

    def repair(state: dict[str, Any], rng: random.Random) -> None:
        for coll, ref, lst in listed:
            for rec in (state.get(coll) or {}).values():
                if isinstance(rec, dict) and rec.get(ref) is not None and isinstance(rec.get(lst), list) \
                        and rec[ref] not in rec[lst]:
                    rec[lst].append(rec[ref])
        for coll, field, share in shares:
            for rec in (state.get(coll) or {}).values():
                if isinstance(rec, dict) and isinstance(rec.get(field), bool):
                    rec[field] = rng.random() < share
        for child, ref, parent in quiet:
            parents = sorted(state.get(parent) or {}, key=str)
            if len(parents) < 2 or rng.random() < 0.5:
                continue
            empty = rng.choice(parents)
            kids = state.get(child) or {}
            for key in [k for k, r in kids.items() if isinstance(r, dict) and r.get(ref) == empty]:
                del kids[key]

    return repair


def _fields(colls: dict[str, Any], records: dict[str, Any], coll: str) -> list[dict[str, Any]]:
    return list(records.get(colls[coll]["record"], {}).get("fields", []))


def _listed_own_refs(seed: dict[str, Any], colls: dict[str, Any],
                     records: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(collection, ref field, list field) where every seed record lists its own reference (lead in members)."""
    out = []
    for coll in colls:
        fields = _fields(colls, records, coll)
        recs = [r for r in (seed.get(coll) or {}).values() if isinstance(r, dict)]
        for ref in (f["name"] for f in fields if f["type"].get("k") == "ref"):
            for lst in (f["name"] for f in fields if f["type"].get("k") == "list"):
                pairs = [r for r in recs if r.get(ref) is not None and isinstance(r.get(lst), list)]
                if len(pairs) >= 2 and sum(r[ref] in r[lst] for r in pairs) >= _MOST * len(pairs):
                    out.append((coll, ref, lst))
    return out


def _true_shares(seed: dict[str, Any], colls: dict[str, Any], records: dict[str, Any]) -> list[tuple[str, str, float]]:
    """(collection, bool field, share of true in the seed) for the top-level bool fields of seeded records."""
    out = []
    for coll in colls:
        recs = [r for r in (seed.get(coll) or {}).values() if isinstance(r, dict)]
        for f in _fields(colls, records, coll):
            values = [r[f["name"]] for r in recs if isinstance(r.get(f["name"]), bool)]
            if f["type"].get("k") == "bool" and len(values) >= 3:
                out.append((coll, f["name"], sum(values) / len(values)))
    return out


def _quiet_candidates(colls: dict[str, Any], records: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(child collection, ref field, parent collection) for children that no field anywhere refers to, so
    dropping some leaves nothing dangling."""
    referred = {_ref_target(f["type"]) for r in records.values() for f in r.get("fields", [])} - {None}
    out = []
    for child in colls:
        if child in referred:
            continue
        for f in _fields(colls, records, child):
            if f["type"].get("k") == "ref" and f["type"].get("coll") in colls and f["type"]["coll"] != child:
                out.append((child, f["name"], f["type"]["coll"]))
                break  # one parent per child collection: the first reference names what it belongs to
    return out


def _ref_target(t: dict[str, Any]) -> str | None:
    """The collection a type refers to, looking through optionals, lists and maps."""
    k = t.get("k")
    if k == "ref":
        return str(t.get("coll"))
    for inner in ("of", "val"):
        if isinstance(t.get(inner), dict):
            return _ref_target(t[inner])
    return None
