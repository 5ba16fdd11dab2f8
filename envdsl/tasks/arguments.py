"""Drawing tool arguments that mean something in the current state, and remembering where each came from.

An argument is either taken from an earlier call's output (the agent can read it there) or is a
fact the user must state (an id the user knows, an enum choice, a new name or address). Which of
the two it is decides what the simulated user has to say, so every draw returns its source.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass, field
from typing import Any

from envdsl.runtime.dates import date_problem, datetime_problem
from envdsl.runtime.generate import _Generator  # the runtime's constraint-respecting value maker
from envdsl.tasks.reachable import reachable, scope_records, siblings
from envdsl.tasks.realism import RealisticValues

OUTPUT, USER = "output", "user"
SCALARS = (str, int, float, bool)


@dataclass
class OutputPool:
    """Scalar values seen in successful tool outputs: (field name, value, call index), newest last."""

    items: list[tuple[str, Any, int]] = field(default_factory=list)

    def add(self, value: Any, call_index: int) -> None:
        for name, leaf in _leaves(value, ""):
            self.items.append((name, leaf, call_index))

    def values(self) -> list[Any]:
        return [v for _, v, _ in self.items]

    def contains(self, value: Any) -> bool:
        return any(_same(v, value) for _, v, _ in self.items)


def _leaves(value: Any, name: str) -> list[tuple[str, Any]]:
    if isinstance(value, dict):
        return [x for k, v in value.items() for x in _leaves(v, str(k))]
    if isinstance(value, list):
        return [x for v in value for x in _leaves(v, name)]
    if value is None:
        return []
    return [(name, value)]


def _same(a: Any, b: Any) -> bool:
    return a == b and type(a) is type(b) or (isinstance(a, (int, float)) and isinstance(b, (int, float))
                                              and not isinstance(a, bool) and not isinstance(b, bool) and a == b)


# a person's own details, which stay the same within one request
_PERSONAL = re.compile(r"(^|_)(address\d?|address_line\d|street|city|state|zip|zipcode|postal_code|country|email|"
                       r"phone|phone_number|first_name|last_name|dob|date_of_birth)$", re.I)
_CHOICE = re.compile(r"\b(either|one of|must be|should be|can be)\b", re.I)


def _listed_values(description: str) -> list[str]:
    """The quoted values a parameter description lists as its only choices (a str that is an enum in words)."""
    if not _CHOICE.search(description):
        return []
    # a quote right after a letter is an apostrophe ("the customer's addresses"), not the start of a value
    return sorted(set(re.findall(r"(?<![A-Za-z])'([^'\n]{1,40})'", description)))


def _kind_ok(value: Any, t: dict[str, Any]) -> bool:
    k = t["k"]
    if k == "opt":
        return value is None or _kind_ok(value, t["of"])
    if k in ("str", "enum"):
        return isinstance(value, str)
    if k in ("date", "datetime"):  # only a real calendar value, in the type's own form
        return (date_problem(value) if k == "date" else datetime_problem(value)) is None
    if k == "int":
        return isinstance(value, int) and not isinstance(value, bool)
    if k == "float":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if k == "bool":
        return isinstance(value, bool)
    if k == "ref":
        return _kind_ok(value, t["key"])
    return False


class ArgumentDrawer:
    def __init__(self, env: Any, index: Any, rng: random.Random):
        self.env = env
        self.ix = index
        self.rng = rng
        self.stated: dict[str, list[Any]] = {}  # collection -> keys the user already named in this task
        # parameter -> the value the user gave for one of their own details (a new street, a phone) in this
        # task: a person moving house gives one new address, however many calls take it
        self.personal: dict[str, Any] = {}
        self.realism: RealisticValues | None = None
        # field name -> description, for maps whose description says what their keys and values are
        self.field_docs = {f["name"]: f.get("description") or "" for r in index.ir["records"] for f in r["fields"]
                           if f["type"]["k"] == "map"}

    def start_task(self) -> None:
        self.stated = {}
        self.personal = {}

    def remember(self, tool: str, args: dict[str, Any], sources: dict[str, str]) -> None:
        for name, source in sources.items():
            coll = self.ix.param_entity.get((tool, name))
            if coll is not None and source == USER and args[name] not in self.stated.setdefault(coll, []):
                self.stated[coll].append(args[name])

    def draw(self, tool: str, pool: OutputPool, prefer_call: int | None) -> tuple[dict[str, Any], dict[str, str]]:
        """Arguments for `tool` and, per argument, its source (OUTPUT or USER)."""
        args: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for p in self.ix.tools[tool]["params"]:
            coll = self.ix.param_entity.get((tool, p["name"]))
            if "default" in p and coll is None and self.rng.random() < 0.5:
                continue  # leave optional arguments out half the time: the tool's default applies
            if coll is None and p["name"] in self.personal:
                value, source = self.personal[p["name"]], USER
            else:
                value, source = self._value(p, coll, pool, prefer_call, args)
                if coll is None and source == USER and _PERSONAL.search(p["name"]):
                    self.personal[p["name"]] = value
            args[p["name"]] = value
            sources[p["name"]] = source
        return args, sources

    def _value(self, p: dict[str, Any], coll: str | None, pool: OutputPool, prefer_call: int | None,
               drawn: dict[str, Any] | None = None) -> tuple[Any, str]:
        rng = self.rng
        t = p["type"]
        base = t["of"] if t["k"] == "opt" else t
        state = self.env.db.data
        if coll is not None:
            keys = list(state.get(coll, {}))
            keyset = set(keys)
            seen = [v for _, v, _ in pool.items if _kind_ok(v, base) and v in keyset]
            recent = [v for _, v, i in pool.items if i == prefer_call and _kind_ok(v, base) and v in keyset]
            if (recent or seen) and rng.random() < 0.85:
                options = recent or seen
                # one candidate: the agent can take it from the output; several: the user says which
                return rng.choice(options), (OUTPUT if len(set(options)) == 1 else USER)
            # the only key of this collection in the last output is readable there, however it was drawn
            readable = set(recent) if len(set(recent)) == 1 else set()
            again = [k for k in self.stated.get(coll, []) if k in keyset]
            if again and rng.random() < 0.7:
                value = rng.choice(again)  # the same customer, order, ... as before: a coherent task
            elif keys and rng.random() < 0.8:
                value = rng.choice(keys)
            else:
                return self._fresh(base, p.get("constraints", {})), USER  # a new key, for tools that create
            return value, (OUTPUT if value in readable else USER)
        if base["k"] == "enum":
            return rng.choice(self._enum_members(base["name"])), USER
        inside = self._reachable(p, base, drawn or {})
        if inside is not None and rng.random() < 0.75:
            return inside, USER  # from the records the task is about: the user's order lines, saved cards, ...
        listed = _listed_values(p.get("description") or "") if base["k"] == "str" else []
        if listed and rng.random() < 0.8:
            return rng.choice(listed), USER  # "should be either 'no longer needed' or 'ordered by mistake'"
        named = [v for n, v, _ in pool.items if n == p["name"] and _kind_ok(v, base)]
        if named and rng.random() < 0.7:
            return rng.choice(named), (OUTPUT if len(set(named)) == 1 else USER)
        in_state = self._state_values(p["name"], base)
        if in_state and rng.random() < 0.5:
            return rng.choice(in_state), USER
        return self._fresh(t, p.get("constraints", {}), p["name"]), USER

    def _reachable(self, p: dict[str, Any], t: dict[str, Any], drawn: dict[str, Any]) -> Any | None:
        """A value for `p` found inside the records of the keys named so far (this call's and the task's),
        or None: scalars as they are, a list as one or two of them, a map of ids to small counts."""
        keys = [k for ks in self.stated.values() for k in ks] + list(drawn.values())
        if not keys:
            return None
        # most of the time the records this very call names (the order's own lines), else one hop wider
        # (the order's user's saved payment methods, the product's other variants)
        narrow = scope_records(self.env.db.data, self.ix.collections, list(drawn.values()), hop=False)
        wide = scope_records(self.env.db.data, self.ix.collections, keys)
        # a `new_...` value is another option than the one the call names: look wider at once
        first = self._reachable_in(narrow, p, t, drawn) \
            if narrow and not p["name"].startswith("new_") and self.rng.random() < 0.7 else None
        return first if first is not None else self._reachable_in(wide, p, t, drawn)

    def _reachable_in(self, records: list[dict[str, Any]], p: dict[str, Any], t: dict[str, Any],
                      drawn: dict[str, Any]) -> Any | None:
        if not records:
            return None
        c = p.get("constraints", {})
        if t["k"] == "map" and t["key"]["k"] == "str" and t["val"]["k"] == "int":
            key_side = (p.get("description") or "").partition("->")[0]
            words = re.sub(r"\(.*", "", key_side).strip().lower().split()[:2]  # 'Item id (such as..) -> qty'
            if not words:
                return None
            found = [v for v in reachable(records, "_".join(words), {"k": "str"}, "", drawn, self.field_docs)
                     if isinstance(v, str)]
            if not found:
                return None
            picked = self.rng.sample(found, min(len(found), self.rng.randint(1, 2)))
            return {k: self.rng.randint(max(1, int(c.get("min", 1))), 2) for k in sorted(picked)}
        if t["k"] == "list":
            item = t["of"]
            old = drawn.get(re.sub(r"^new_", "", p["name"])) if p["name"].startswith("new_") else None
            if isinstance(old, list) and old:
                # `new_item_ids` beside `item_ids`: for each old value another option of the same thing
                options = [siblings(records, v) for v in old]
                if all(options):
                    return [self.rng.choice(o) for o in options]
            found = [v for v in reachable(records, p["name"], t, "", drawn, self.field_docs) if _kind_ok(v, item)]
            if not found:
                return None
            return self.rng.sample(found, min(len(found), self.rng.randint(max(1, c.get("min_len", 1)), 2)))
        if t["k"] not in ("str", "int"):
            return None
        found = [v for v in reachable(records, p["name"], t, "", drawn, self.field_docs) if _kind_ok(v, t)
                 and v not in drawn.values()]
        return self.rng.choice(found) if found else None

    def _enum_members(self, name: str) -> list[str]:
        return next(e["members"] for e in self.ix.ir["enums"] if e["name"] == name)

    def _state_values(self, name: str, t: dict[str, Any]) -> list[Any]:
        """Values of same-named fields of the entities in state (an `email` parameter -> existing emails)."""
        out: list[Any] = []
        for coll in self.ix.collections:
            for entity in self.env.db.data.get(coll, {}).values():
                if isinstance(entity, dict) and name in entity and _kind_ok(entity[name], t) \
                        and entity[name] is not None and entity[name] not in out:
                    out.append(entity[name])
        return out

    def _fresh(self, t: dict[str, Any], constraints: dict[str, Any], name: str | None = None) -> Any:
        """A new value (a new name, street, allergy): realistic by the parameter's name where the hook knows it."""
        if self.realism is None:
            self.realism = RealisticValues(self.env.db.data)  # values the current state uses, per field
        gen = _Generator(type(self.env), self.rng, self.realism if name else None)
        gen.keys = {c: list(v) for c, v in self.env.db.data.items() if c in self.ix.collections}
        if t["k"] == "int" and "max" not in constraints:
            # small, plausible numbers (quantities, nights, seats) rather than anything up to 100
            lo = int(constraints.get("min", 1))
            return self.rng.randint(lo, lo + 4)
        return gen.value(t, constraints, 1, (name, "") if name else None)

    def wrong_value(self, tool: str, name: str, right: Any) -> Any | None:
        """A value the user might mistakenly give for `name` that the tool should reject, or None."""
        p = next(x for x in self.ix.tools[tool]["params"] if x["name"] == name)
        coll = self.ix.param_entity.get((tool, name))
        c = p.get("constraints", {})
        if coll is not None and isinstance(right, str):
            keys = self.env.db.data.get(coll, {})
            for suffix in ("9", "0", "x", "99"):
                if right + suffix not in keys:
                    return right + suffix
        if coll is not None and isinstance(right, int) and not isinstance(right, bool):
            return max(self.env.db.data.get(coll, {}) or [0]) + 1  # type: ignore[type-var]
        if isinstance(right, int) and not isinstance(right, bool) and "max" in c:
            return int(c["max"]) + 1
        return None
