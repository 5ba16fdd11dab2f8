"""Making the values of one person, and of one record, agree with each other in a generated state.

The realistic value hook (realism.py) picks each field's value on its own: a user keyed
`harper_moore_7204` gets the name "Nicholas Sandoval" and an email of a third person, a saved payment
method keyed `credit_card_1234` says its source is paypal, an order ships to an address its owner never
had. This repair hook, run after the ownership repair, learns from the spec's own seed state which
fields agree there and makes the generated state agree the same way:
- a key built from the person's name in the seed (`noah_brown_6181` for Noah Brown) gives the generated
  person their name from their key;
- an email is made from the person's name, in the seed's style (`noah.brown7922@`, `priya@`);
- an id that starts with another field's value in the seed (`credit_card_...` with source credit_card)
  is made to start with it, and a map key equal to its record's id there stays equal;
- an owned record's address that equals its owner's in the seed (an order ships to its user's address)
  is its owner's address;
- a field that repeats what a reference names in the seed (an order line's `name` is its product's name)
  repeats it.
Nothing here is per domain: every rule is a pattern found in the seed state, applied where it holds.
"""

from __future__ import annotations

import copy
import random
import re
from typing import Any, Callable

from envdsl.ir.rules import PolicyRules

_FULL_NAME = ("name", "full_name", "owner_name", "patient_name", "customer_name")
_PERSON = re.compile(r"user|customer|patient|member|guest|person|owner|passenger|client|employee|staff|reader", re.I)
_MOST = 0.8  # share of the seed's examples a pattern must hold for


def person_repair(seed_state: dict[str, Any], rules: PolicyRules) -> Callable[[dict[str, Any], random.Random], None]:
    """The repair hook for `generate_state`: (state, rng) -> None, in place."""
    styles = {coll: _person_style(recs) for coll, recs in _collections(seed_state).items()}
    prefixes = _id_prefix_rules(seed_state)
    shared = _shared_with_owner(seed_state, rules)
    copies = _copied_through_refs(seed_state)

    def repair(state: dict[str, Any], rng: random.Random) -> None:
        for coll, recs in _collections(state).items():
            style = styles.get(coll)
            if style is None:
                style = _person_style({})
            used: set[str] = set()
            for key, rec in recs.items():
                _agree_person(key, rec, style, rng, used, person_collection=bool(_PERSON.search(coll)))
        for path, (id_field, field, values, key_is_id) in prefixes.items():
            # the id follows the field (a union's tag decides the record's shape: the field stays)
            for _, holder in _records_at(state, path[:-1]):
                renamed = {}
                for rec_key, rec in list(holder.items()):
                    kind, ident = rec.get(field) if isinstance(rec, dict) else None, None
                    if isinstance(rec, dict) and isinstance(rec.get(id_field), str):
                        ident = rec[id_field]
                    if isinstance(kind, str) and kind in values and isinstance(ident, str) and \
                            not ident.startswith(kind + "_"):
                        digits = re.search(r"\d+$", ident)
                        rec[id_field] = f"{kind}_{digits.group(0) if digits else rng.randint(1000000, 9999999)}"
                    renamed[rec[id_field] if key_is_id and isinstance(rec, dict) and
                            isinstance(rec.get(id_field), str) and rec[id_field] not in renamed else rec_key] = rec
                holder.clear()
                holder.update(renamed)
        for coll, field, ref, parent in shared:
            owners = state.get(parent) or {}
            for rec in (state.get(coll) or {}).values():
                owner = owners.get(rec.get(ref)) if isinstance(rec, dict) else None
                if isinstance(owner, dict) and isinstance(owner.get(field), dict) and isinstance(rec.get(field), dict) \
                        and set(owner[field]) == set(rec[field]):
                    rec[field] = copy.deepcopy(owner[field])
        for path, ref, target, field in copies:
            for _, rec in _records_at(state, path):
                named = (state.get(target) or {}).get(rec.get(ref)) if isinstance(rec.get(ref), str) else None
                if isinstance(named, dict) and isinstance(named.get(field), str) and isinstance(rec.get(field), str):
                    rec[field] = named[field]

    return repair


# ---- one person's name, key and email

def _collections(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c: v for c, v in state.items() if isinstance(v, dict) and all(isinstance(r, dict) for r in v.values())}


def _name_of(rec: dict[str, Any]) -> tuple[str, str] | None:
    """(first, last) of a record's person: `first_name`/`last_name` at the top or one level down, or a full name."""
    for holder in [rec] + [v for v in rec.values() if isinstance(v, dict)]:
        first, last = holder.get("first_name"), holder.get("last_name")
        if isinstance(first, str) and isinstance(last, str):
            return first, last
    return None


def _full_name_field(rec: dict[str, Any], person_collection: bool) -> str | None:
    for f in _FULL_NAME:
        if isinstance(rec.get(f), str) and (f != "name" or person_collection):
            return f
    return None


def _email_field(rec: dict[str, Any]) -> str | None:
    return next((f for f in rec if (f == "email" or f.endswith("_email")) and isinstance(rec[f], str)
                 and "@" in rec[f]), None)


def _tokens(text: str) -> list[str]:
    return re.findall(r"[a-z]+", text.lower())


def _person_style(recs: dict[str, Any]) -> dict[str, Any]:
    """How the seed's persons' keys and emails follow from their names: {"key_from_name": bool,
    "email": "first.last" | "first" | "firstlast" | "first_last", "digits": int}."""
    keyed = from_name = 0
    styles: dict[str, int] = {}
    digits: list[int] = []
    for key, rec in recs.items():
        name = _person_name(rec, True)
        if name is None:
            continue
        first, last = (_tokens(name[0]) or [""])[0], (_tokens(name[1]) or [""])[-1]
        if isinstance(key, str):
            keyed += 1
            from_name += _tokens(key)[:2] == [first, last]
        ef = _email_field(rec)
        if ef:
            local = rec[ef].split("@", 1)[0].lower()
            bare = re.sub(r"\d+$", "", local)
            for style, made in (("first.last", f"{first}.{last}"), ("first", first), ("firstlast", first + last),
                                ("first_last", f"{first}_{last}"), ("flast", first[:1] + last)):
                if bare == made:
                    styles[style] = styles.get(style, 0) + 1
                    digits.append(len(local) - len(bare))
    style = max(sorted(styles), key=lambda s: styles[s]) if styles else "first.last"
    return {"key_from_name": keyed > 0 and from_name >= _MOST * keyed, "email": style,
            "digits": max(set(digits), key=digits.count) if digits else 0}


def _person_name(rec: dict[str, Any], person_collection: bool) -> tuple[str, str] | None:
    name = _name_of(rec)
    if name is not None:
        return name
    f = _full_name_field(rec, person_collection)
    if f is None:
        return None
    parts = [p for p in rec[f].split() if not p.endswith(".")]  # "Dr. Priya Nair" -> Priya Nair
    return (parts[0], parts[-1]) if len(parts) >= 2 else None


def _agree_person(key: Any, rec: dict[str, Any], style: dict[str, Any], rng: random.Random, used: set[str],
                  person_collection: bool) -> None:
    name = _person_name(rec, person_collection)
    if name is None:
        return
    if style["key_from_name"] and isinstance(key, str) and len(_tokens(key)) >= 2:
        first, last = (t.capitalize() for t in _tokens(key)[:2])
        _set_name(rec, first, last, person_collection)
        name = (first, last)
    ef = _email_field(rec)
    if ef is None:
        return
    first, last = (_tokens(name[0]) or ["x"])[0], (_tokens(name[1]) or ["x"])[-1]
    local = {"first.last": f"{first}.{last}", "first": first, "firstlast": first + last,
             "first_last": f"{first}_{last}", "flast": first[:1] + last}[style["email"]]
    domain = rec[ef].split("@", 1)[1]
    n = style["digits"]
    email = f"{local}{rng.randint(10 ** (n - 1), 10 ** n - 1) if n else ''}@{domain}"
    while email in used:  # two people of one name: each their own address
        email = f"{local}{rng.randint(10, 9999)}@{domain}"
    used.add(email)
    rec[ef] = email


def _set_name(rec: dict[str, Any], first: str, last: str, person_collection: bool) -> None:
    for holder in [rec] + [v for v in rec.values() if isinstance(v, dict)]:
        if isinstance(holder.get("first_name"), str) and isinstance(holder.get("last_name"), str):
            holder["first_name"], holder["last_name"] = first, last
            return
    f = _full_name_field(rec, person_collection)
    if f is not None:
        rec[f] = f"{first} {last}"


# ---- ids that say what kind of thing they name

def _records_at(state: dict[str, Any], path: tuple[str, ...]) -> list[tuple[Any, dict[str, Any]]]:
    """(key, record) of the records a path names: ("users", "*", "payment_methods", "*")."""
    level: list[tuple[Any, Any]] = [(None, state)]
    for step in path:
        nxt: list[tuple[Any, Any]] = []
        for _, v in level:
            if step == "*" and isinstance(v, dict):
                nxt += list(v.items())
            elif step == "*" and isinstance(v, list):
                nxt += [(None, x) for x in v]
            elif isinstance(v, dict) and step in v:
                nxt.append((step, v[step]))
        level = nxt
    return [(k, v) for k, v in level if isinstance(v, dict)]


def _paths(value: Any, path: tuple[str, ...] = (), depth: int = 0) -> set[tuple[str, ...]]:
    """Paths of the records (dicts in maps or lists) of a state, at most four steps deep."""
    out: set[tuple[str, ...]] = set()
    if depth > 4:
        return out
    if isinstance(value, dict):
        items = list(value.items())
        if items and all(isinstance(v, dict) for _, v in items) and path:
            out.add(path + ("*",))
            for _, v in items[:50]:
                out |= _paths(v, path + ("*",), depth + 1)
        else:
            for k, v in items:
                out |= _paths(v, path + (str(k),), depth + 1)
    elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
        out.add(path + ("*",))
        for v in value[:50]:
            out |= _paths(v, path + ("*",), depth + 1)
    return out


def _id_prefix_rules(seed: dict[str, Any]) -> dict[tuple[str, ...], tuple[str, str, set[str], bool]]:
    """Per record path: (id field, field, the field's values, map key equals id) where, in the seed, every
    record's id starts with that field's value (`credit_card_7815826` with source `credit_card`)."""
    out: dict[tuple[str, ...], tuple[str, str, set[str], bool]] = {}
    for path in sorted(_paths(seed)):
        recs = _records_at(seed, path)
        if len(recs) < 3 or len(path) < 2:
            continue
        fields = sorted({f for _, r in recs for f, v in r.items() if isinstance(v, str)})
        for id_field in (f for f in fields if f == "id" or f.endswith("_id")):
            for field in (f for f in fields if f != id_field and not f.endswith("_id")):
                pairs = [(r[id_field], r[field]) for _, r in recs
                         if isinstance(r.get(id_field), str) and isinstance(r.get(field), str)]
                values = {v for _, v in pairs}
                if len(pairs) >= 3 and len(values) >= 2 and \
                        sum(i.startswith(v + "_") for i, v in pairs) >= _MOST * len(pairs):
                    key_is_id = all(k == r.get(id_field) for k, r in recs if isinstance(k, str)) and \
                        any(isinstance(k, str) for k, _ in recs) and path[-1] == "*"
                    out[path] = (id_field, field, values, key_is_id)
    return out


# ---- an owned record's address is its owner's

def _shared_with_owner(seed: dict[str, Any], rules: PolicyRules) -> list[tuple[str, str, str, str]]:
    """(collection, field, reference field, parent) where the seed's owned records carry their owner's value
    of a nested field (an order's address is its user's address)."""
    out = []
    for link in (x for x in rules.owned if x.via == "ref"):
        recs = [r for r in (seed.get(link.collection) or {}).values() if isinstance(r, dict)]
        parents = seed.get(link.parent) or {}
        for field in sorted({f for r in recs for f, v in r.items() if isinstance(v, dict)}):
            pairs = [(r[field], parents[r[link.field]].get(field)) for r in recs
                     if isinstance(r.get(field), dict) and isinstance(parents.get(r.get(link.field)), dict)]
            if len(pairs) >= 3 and sum(a == b for a, b in pairs) >= 0.5 * len(pairs):
                out.append((link.collection, field, link.field, link.parent))
    return out


# ---- a field that repeats what its reference names

def _copied_through_refs(seed: dict[str, Any]) -> list[tuple[tuple[str, ...], str, str, str]]:
    """(record path, reference field, referenced collection, field) where the seed's records repeat a text
    field of the record their reference names (an order line's `name` and its product's `name`)."""
    colls = _collections(seed)
    out = []
    for path in sorted(_paths(seed)):
        recs = [r for _, r in _records_at(seed, path)]
        if len(recs) < 3:
            continue
        for ref in sorted({f for r in recs for f, v in r.items() if f.endswith("_id") and isinstance(v, str)}):
            for target, rows in colls.items():
                if path[0] == target or sum(r.get(ref) in rows for r in recs) < _MOST * len(recs):
                    continue
                for field in sorted({f for r in recs for f, v in r.items() if isinstance(v, str) and f != ref
                                     and not f.endswith("_id")}):
                    pairs = [(r[field], rows[r[ref]].get(field)) for r in recs
                             if isinstance(r.get(field), str) and r.get(ref) in rows]
                    if len(pairs) >= 3 and sum(a == b for a, b in pairs) >= _MOST * len(pairs):
                        out.append((path, ref, target, field))
    return out
