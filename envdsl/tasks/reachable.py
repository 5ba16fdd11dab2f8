"""Argument values reachable from the records a task is about, nested lists and maps included.

A write tool often needs a value that lives inside the user's own records, not in a collection of its
own: the item ids of an order's lines, a payment method id among the user's saved methods, a guest's
name among a lock's codes, a date among a doctor's open slots. This module finds such values by field
meaning, for any spec:
- the scope: the records of the keys the task has named so far (the user, an order, ...), the records
  they refer to (an order's user) and the records that refer to them (a home's devices);
- a parameter matches a field of the same name, or one its name ends with (`card_method_id` ->
  `method_id`, `address_label` -> `label`), `new_`/`old_` aside, singular for a list (`item_ids` ->
  `item_id`);
- a map's keys or values match by the map's own description ("Guest name -> code", "date -> start
  times"), or by its name (`payment_methods` keys for `payment_method_id`); a value of a map whose key
  the tool call already holds is taken from that key's entry (a time of the date already chosen).
"""

from __future__ import annotations

import re
from typing import Any, Iterable

from envdsl.tasks.ownership import leaves

SCALAR = (str, int)


def scope_records(state: dict[str, Any], collections: Iterable[str], keys: Iterable[Any],
                  hop: bool = True) -> list[dict[str, Any]]:
    """The records of `keys` and (hop) the records they refer to and the records that refer to them."""
    colls = [c for c in collections if isinstance(state.get(c), dict)]
    wanted = {str(k) for k in keys if isinstance(k, SCALAR) and not isinstance(k, bool)}
    found: dict[tuple[str, str], dict[str, Any]] = {}
    for c in colls:
        for k, rec in state[c].items():
            if str(k) in wanted and isinstance(rec, dict):
                found[(c, str(k))] = rec
    direct = list(found.values())
    if not hop:
        return direct
    mentioned = {str(v) for rec in direct for v in leaves(rec) if isinstance(v, SCALAR) and not isinstance(v, bool)}
    for c in colls:
        for k, rec in state[c].items():
            if not isinstance(rec, dict) or (c, str(k)) in found:
                continue
            if str(k) in mentioned or any(str(v) in wanted for v in rec.values() if isinstance(v, SCALAR)):
                found[(c, str(k))] = rec
    return list(found.values())


def reachable(records: list[dict[str, Any]], param: str, ptype: dict[str, Any], description: str,
              drawn: dict[str, Any], field_docs: dict[str, str]) -> list[Any]:
    """Candidate values (scalars; for a list parameter, the items) for `param` inside `records`.
    `field_docs`: the map fields (name -> description): only their keys are values; `drawn`: the call's
    arguments drawn so far."""
    name = re.sub(r"^(new|old|current)_", "", param)
    if ptype["k"] == "list":
        name = name[:-1] if name.endswith("s") else name
    words = name.replace("_", " ")
    held = {str(v) for v in drawn.values() if isinstance(v, SCALAR) and not isinstance(v, bool)}
    out: list[Any] = []

    def add(v: Any) -> None:
        if isinstance(v, SCALAR) and not isinstance(v, bool) and v not in out:
            out.append(v)

    def walk(value: Any, field: str) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k))
            if field not in field_docs:
                return  # a record, not a map: its field names are no values
            doc = field_docs[field]
            key_side, _, val_side = doc.partition("->")
            if _names(name, field) or (key_side and _says(key_side, words)):
                for k in value:
                    add(k)  # the map's keys are what the parameter names (payment method ids, guest names)
            if val_side and _says(val_side, words):
                entries = [v for k, v in value.items() if str(k) in held] or list(value.values())
                for v in entries:
                    for leaf in v if isinstance(v, list) else [v]:
                        add(leaf)
        elif isinstance(value, list):
            for v in value:
                walk(v, field)
        elif field and _matches(name, field):
            add(value)

    for rec in records:
        walk(rec, "")
    return out


def _matches(name: str, field: str) -> bool:
    # `card_method_id` ends with `method_id`, `owner_email` with `email`; a bare `id` is too vague to match
    return name == field or (name.endswith("_" + field) and len(field) >= 4) or \
        (field.endswith("_" + name) and len(name) >= 4)


def _names(name: str, field: str) -> bool:
    """A map field whose keys are the parameter's values by name: payment_methods -> payment_method_id."""
    singular = field[:-1] if field.endswith("s") else field
    return name in (f"{singular}_id", f"{singular}_name", singular)


def _says(text: str, words: str) -> bool:
    return bool(re.search(r"\b" + re.escape(words) + r"s?\b", text.lower()))




def siblings(records: list[dict[str, Any]], value: Any) -> list[Any]:
    """Other options of the same thing as `value`: where `value` is a field of an entry of a map (a
    variant's item id among a product's variants), the same field of the map's other entries."""
    out: list[Any] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            entries = [v for v in node.values() if isinstance(v, dict)]
            for e in entries:
                for f, v in e.items():
                    if v == value and not isinstance(v, bool):
                        out.extend(o[f] for o in entries if o is not e and f in o and o[f] not in out)
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    for rec in records:
        walk(rec)
    return out
