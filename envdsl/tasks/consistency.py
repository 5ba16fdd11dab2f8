"""Making a generated state agree with a spec's ownership rules, instead of rejecting it.

The runtime generator fills every reference at random, so an order listed under one user (the user's
`orders` list) may name another as its owner (the order's `user_id`), and an order may be listed under
two users or under none. This repair hook, handed to `generate_state`, settles each owned entity on one
owner: the first user whose list names it (or, listed nowhere, the owner its own reference names); its
reference is set to that owner and it is listed under that owner alone.
"""

from __future__ import annotations

import random
from typing import Any, Callable

from envdsl.ir.rules import OwnedLink, PolicyRules


def ownership_repair(rules: PolicyRules) -> Callable[[dict[str, Any], random.Random], None]:
    links = rules.owned

    def repair(state: dict[str, Any], rng: random.Random) -> None:
        for lst in (x for x in links if x.via == "list"):
            refs = [x for x in links if x.via == "ref" and x.collection == lst.collection and x.parent == lst.parent]
            _settle(state, lst, refs)

    return repair


def _settle(state: dict[str, Any], lst: OwnedLink, refs: list[OwnedLink]) -> None:
    parents = state.get(lst.on) or {}
    owned = state.get(lst.collection) or {}
    owner: dict[str, Any] = {}  # owned key (as text) -> parent key
    for pkey, prec in parents.items():
        if not isinstance(prec, dict) or not isinstance(prec.get(lst.field), list):
            continue
        kept = []
        for k in prec[lst.field]:
            if str(k) in owner:
                continue  # listed under an earlier parent already (or twice here): one owner each
            owner[str(k)] = pkey
            kept.append(k)
        prec[lst.field] = kept
    for key, rec in owned.items():
        if not isinstance(rec, dict):
            continue
        for ref in refs:
            if str(key) in owner:
                rec[ref.field] = owner[str(key)]
            elif rec.get(ref.field) in parents and isinstance(parents[rec[ref.field]].get(lst.field), list):
                parents[rec[ref.field]][lst.field].append(key)  # listed nowhere: under the owner it names
                owner[str(key)] = rec[ref.field]
