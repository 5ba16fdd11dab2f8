"""Hypothesis strategies derived from a domain's IR: valid states, and valid or invalid arguments.

States start from the seed (or a generated state for a drawn generator seed) and take a few
drawn edits, each kept only if the state stays valid (schema, keys, references, invariants).
Arguments prefer what the current state holds: keys of the collection a parameter indexes
(see keyflow), then any value of the right type seen in the state, then random values that
respect the declared type and constraints. Everything shrinks towards the seed state and
towards values found in it, so a failure reads in the domain's own terms.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from envdsl.proptest.domain import Domain
from envdsl.proptest.schema_strategy import NUMBER_SPAN, json_values, text
from envdsl.runtime.dates import date_problem, datetime_problem
from envdsl.runtime.store import clone
from envdsl.runtime.validate import constraint_errors

MAX_EDITS = 2
POOL_LIMIT = 400  # distinct values kept from a state: enough to aim arguments, cheap on big states
GENERATOR_SEEDS = 64  # few distinct generated states: each is made once and cached


@dataclass
class StartState:
    origin: str  # "seed state" or "generated state (seed N)"
    base: dict[str, Any]  # that state, before the drawn edits
    state: dict[str, Any]
    untouched_seed: bool = False  # the seed itself: env.reset() loads it at the cost of the last calls' writes


class Pools:
    """Values found in a state, by kind: what arguments are drawn from first."""

    def __init__(self, state: dict[str, Any]):
        self.keys: dict[str, list[Any]] = {k: list(v) for k, v in state.items() if isinstance(v, dict)}
        self.strings: list[str] = []
        self.ints: list[int] = []
        self.floats: list[float] = []
        seen: set[Any] = set()
        self._walk(state, seen, 0)

    def _walk(self, v: Any, seen: set[Any], depth: int) -> None:
        if len(seen) > POOL_LIMIT:
            return
        if isinstance(v, dict):
            for k, x in v.items():
                self._add(k, seen)
                self._walk(x, seen, depth + 1)
        elif isinstance(v, list):
            for x in v:
                self._walk(x, seen, depth + 1)
        elif depth:
            self._add(v, seen)

    def _add(self, v: Any, seen: set[Any]) -> None:
        key = (type(v), v)
        if key in seen or len(seen) > POOL_LIMIT:
            return
        seen.add(key)
        if isinstance(v, str):
            self.strings.append(v)
        elif isinstance(v, bool) or v is None:
            return
        elif isinstance(v, int):
            self.ints.append(v)
        elif isinstance(v, float):
            self.floats.append(v)


def pick(draw: Any, items: list[Any]) -> Any:
    """One of `items` (non-empty), shrinking towards the first. Cheaper than a new sampled_from."""
    return items[draw(st.integers(0, len(items) - 1))]


class Values:
    """Draws values of IR types for one domain and one state's pools."""

    def __init__(self, domain: Domain, pools: Pools):
        self.schema = domain.env_cls.schema()
        self.pools = pools

    def draw(self, draw: Any, t: dict[str, Any], c: dict[str, Any] | None = None, depth: int = 0,
             keyed: str | None = None) -> Any:
        c = c or {}
        k = t["k"]
        if "one_of" in c:
            return pick(draw, c["one_of"])
        if k == "opt":
            # False first: shrinks to null
            return self.draw(draw, t["of"], c, depth, keyed) if draw(st.booleans()) and depth < 4 else None
        if k == "ref":
            keys = self.pools.keys.get(t["coll"], [])
            if keys and draw(st.integers(0, 4)) < 4:
                return pick(draw, keys)
            return self.draw(draw, t["key"], c, depth)
        if k in ("str", "int", "float"):
            return self._scalar(draw, k, c, keyed)
        if k in ("date", "datetime"):
            return self._date(draw, k)
        if k == "bool":
            return draw(st.booleans())
        if k == "enum":
            return pick(draw, self.schema.enums[t["name"]])
        if k == "list":
            lo = c.get("min_len", 0)
            hi = lo if depth >= 3 else min(c.get("max_len", lo + 3), lo + 3)
            n = draw(st.integers(lo, max(lo, hi)))
            return [self.draw(draw, t["of"], None, depth + 1) for _ in range(n)]
        if k == "map":
            return self._map(draw, t, c, depth)
        if k == "record":
            return self.record(draw, t["name"], depth)
        if k == "union":
            u = self.schema.unions[t["name"]]
            return self.record(draw, u["variants"][pick(draw, sorted(u["variants"]))], depth)
        return draw(json_values)  # "any"

    def record(self, draw: Any, name: str, depth: int) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in self.schema.records[name]:
            if "tag_value" in f:
                out[f["name"]] = f["tag_value"]
            elif "default" in f and (depth >= 3 or not draw(st.booleans())):
                continue  # left out: the runtime fills the default
            else:
                out[f["name"]] = self.draw(draw, f["type"], f.get("constraints"), depth + 1)
        return out

    def _map(self, draw: Any, t: dict[str, Any], c: dict[str, Any], depth: int) -> dict[Any, Any]:
        lo = c.get("min_len", 0)
        n = lo if depth >= 3 else draw(st.integers(lo, max(lo, min(c.get("max_len", lo + 2), lo + 2))))
        kt = t["key"]
        out: dict[Any, Any] = {}
        for _ in range(n * 3):
            if len(out) >= n:
                break
            key = pick(draw, self.schema.enums[kt["name"]]) if kt["k"] == "enum" else \
                self._scalar(draw, "str", {}, None)  # JSON object keys are strings
            out[key] = self.draw(draw, t["val"], None, depth + 1)
        return out

    def _scalar(self, draw: Any, k: str, c: dict[str, Any], keyed: str | None) -> Any:
        """From the state first (keys of the indexed collection, then values seen), else random."""
        pool: list[Any]
        if keyed is not None and self.pools.keys.get(keyed):
            pool = [x for x in self.pools.keys[keyed] if _kind_ok(x, k)]
        else:
            pools: dict[str, list[Any]] = {"str": list(self.pools.strings), "int": list(self.pools.ints),
                                           "float": [*self.pools.floats, *self.pools.ints]}
            pool = pools[k]
        pool = [x for x in pool if not constraint_errors(x, c, "")] if c else pool
        if pool and draw(st.integers(0, 3)) < 3:
            return pick(draw, pool)
        return self._random_scalar(draw, k, c)

    def _date(self, draw: Any, k: str) -> str:
        """A date the state already holds (so lookups and comparisons meet), else any calendar day;
        always valid: an invalid one is refused before the tool runs, which tests nothing of the tool."""
        problem = date_problem if k == "date" else datetime_problem
        pool = [x for x in self.pools.strings if problem(x) is None]
        if pool and draw(st.integers(0, 3)) < 3:
            return str(pick(draw, pool))
        if k == "date":
            return str(draw(st.dates(_dt.date(2000, 1, 1), _dt.date(2030, 12, 31))).isoformat())
        moment = draw(st.datetimes(_dt.datetime(2000, 1, 1), _dt.datetime(2030, 12, 31)))
        return str(moment.replace(microsecond=0).isoformat(timespec="seconds"))

    def _random_scalar(self, draw: Any, k: str, c: dict[str, Any]) -> Any:
        if k == "str":
            if "pattern" in c:
                lo, hi = c.get("min_len", 0), c.get("max_len", 10**9)
                for _ in range(5):  # a few tries: a pattern and a length rarely fight
                    s = draw(st.from_regex(c["pattern"]))
                    if lo <= len(s) <= hi:
                        return s
                return s
            return draw(text(c.get("min_len", 0), c.get("max_len")))
        lo = c.get("min", None)
        hi = c.get("max", None)
        lo = (hi - NUMBER_SPAN if hi is not None else -NUMBER_SPAN) if lo is None else lo
        hi = lo + NUMBER_SPAN if hi is None else hi
        if k == "int":
            return draw(st.integers(int(-(-lo // 1)), int(hi // 1)))
        return draw(st.floats(lo, hi, allow_nan=False, allow_infinity=False))


def _kind_ok(x: Any, k: str) -> bool:
    if k == "str":
        return isinstance(x, str)
    return isinstance(x, (int, float)) and not isinstance(x, bool) and (k == "float" or isinstance(x, int))


# ---- states


def draw_start_state(draw: Any, domain: Domain) -> StartState:
    """`draw` is data.draw of a hypothesis st.data(): functions of draw need no new strategy objects
    per example (building @composite strategies on the fly costs more than the calls under test)."""
    generated = None
    if domain.large_seed or draw(st.integers(0, 2)) == 2:  # a third of the time, a generated state
        gseed = draw(st.integers(0, GENERATOR_SEEDS - 1))
        generated = domain.generated_state(gseed)
        if generated is not None:
            base = generated
            state = clone(base)
        elif domain.large_seed:  # no generated state and a big seed: the seed as it is, cheaply
            return StartState("seed state", domain.seed_state, domain.seed_state, True)
    if generated is None:
        base = domain.seed_state
        state = clone(base)
    origin = "seed state" if generated is None else f"generated state (seed {gseed})"
    edits = draw(st.integers(0, MAX_EDITS))
    if not edits and generated is None:
        return StartState(origin, base, state, True)
    if edits:
        values = Values(domain, Pools(state))  # pools of the unedited state: good enough, and cheap
        for _ in range(edits):
            _edit(draw, domain, state, values)
    return StartState(origin, base, state)


def _edit(draw: Any, domain: Domain, state: dict[str, Any], values: Values) -> None:
    """One drawn change to a field of an entity or a plain state value, kept only if still valid."""
    schema = domain.env_cls.schema()
    slots: list[tuple[Any, Any, dict[str, Any], dict[str, Any]]] = []  # (container, key, type, constraints)
    for f in domain.env_cls.STATE_FIELDS:
        if f["kind"] == "collection":
            for entity in state[f["name"]].values():
                for rf in schema.records[f["record"]]:
                    if rf["name"] != f["key"] and "tag_value" not in rf:
                        slots.append((entity, rf["name"], rf["type"], rf.get("constraints", {})))
        else:
            slots.append((state, f["name"], f["type"], f.get("constraints", {})))
    if not slots:
        return
    container, key, t, c = pick(draw, slots)
    old = container.get(key)
    container[key] = values.draw(draw, t, c, 1)
    if domain.state_problems(state):
        container[key] = old


# ---- arguments


def draw_valid_args(draw: Any, domain: Domain, tool: str, pools: Pools) -> dict[str, Any]:
    """Arguments of the declared types and constraints; optional ones sometimes left out."""
    keyed = domain.key_params.get(tool, {})
    values = Values(domain, pools)
    out: dict[str, Any] = {}
    for p in domain.env_cls.TOOLS[tool].params:
        if "default" in p and not draw(st.booleans()):
            continue
        out[p["name"]] = values.draw(draw, p["type"], p["constraints"], 0, keyed.get(p["name"]))
    return out


_EXTRA_NAMES = st.text("abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=8)


def draw_invalid_args(draw: Any, args: dict[str, Any], domain: Domain, tool: str) -> dict[str, Any]:
    """`args` with one thing wrong, most likely: a parameter left out, an unknown one, or a value
    replaced by a random JSON value (often of the wrong type or out of its constraints)."""
    names = [p["name"] for p in domain.env_cls.TOOLS[tool].params]
    out = dict(args)
    how = pick(draw, ["drop", "extra", "replace"] if names else ["extra"])
    if how == "drop" and out:
        del out[pick(draw, sorted(out))]
    elif how == "extra":
        name = draw(_EXTRA_NAMES)
        if name not in names:
            out[name] = draw(json_values)
    else:
        out[pick(draw, names)] = draw(json_values)
    return out


def draw_call_args(draw: Any, domain: Domain, tool: str, state: dict[str, Any]) -> dict[str, Any]:
    """Mostly valid arguments, one time in five a broken variant of them."""
    args = draw_valid_args(draw, domain, tool, Pools(state))
    if draw(st.integers(0, 4)) == 4:
        args = draw_invalid_args(draw, args, domain, tool)
    return args
