"""Varied initial states from a seed: the spec's generator counts, its types and constraints.

Deterministic: the same environment class and seed give the same state. Keys are made
first for every collection, so references can point anywhere, including forwards.
"""

from __future__ import annotations

import random
import re
from typing import Any, Callable

from envdsl.runtime.dates import date_problem, datetime_problem, random_value
from envdsl.runtime.validate import Schema, _regex

# Optional hooks (envdsl/tasks supplies them; generated code and the runtime need neither):
# - values(field name, record name, type, constraints, rng) -> a value for that field, or None for "no
#   opinion"; a value that breaks the field's constraints is not used;
# - repair(state, rng) makes a generated state consistent in place (ownership links) before it is checked.
ValueHook = Callable[[str, str, dict[str, Any], dict[str, Any], random.Random], Any]
RepairHook = Callable[[dict[str, Any], random.Random], None]

DEFAULT_COUNT = (2, 6)
_WORDS = ("alpha", "bravo", "cedar", "delta", "ember", "fable", "garnet", "harbor", "indigo", "juniper",
          "kestrel", "lumen", "maple", "nova", "onyx", "prism", "quartz", "raven", "sierra", "tundra")


class GenerationError(ValueError):
    pass


def generate_state(env_cls: Any, seed: int, attempts: int = 20, *, values: ValueHook | None = None,
                   repair: RepairHook | None = None) -> dict[str, Any]:
    rng = random.Random(seed)
    last: list[str] = []
    for _ in range(attempts):
        state = _Generator(env_cls, rng, values).state()
        if repair is not None:
            repair(state, rng)
        last = env_cls.state_errors(state)
        if not last:
            failing = _invariant_failures(env_cls, state)
            if not failing:
                return state
            last = [f"invariant: {d}" for d in failing]
    raise GenerationError(f"could not generate a valid {env_cls.DOMAIN} state in {attempts} attempts: "
                          + "; ".join(last[:3]))


def _invariant_failures(env_cls: Any, state: dict[str, Any]) -> list[str]:
    from envdsl.runtime.store import Db

    out = []
    for description, check in env_cls.INVARIANTS:
        try:
            if not check(Db(state)):
                out.append(description)
        except Exception:
            out.append(description)
    return out


class _Generator:
    def __init__(self, env_cls: Any, rng: random.Random, values: ValueHook | None = None):
        self.env = env_cls
        self.rng = rng
        self.hook = values
        self.schema: Schema = env_cls.schema()
        self.keys: dict[str, list[Any]] = {}

    def state(self) -> dict[str, Any]:
        counts = self.env.GENERATOR or {}
        colls = [f for f in self.env.STATE_FIELDS if f["kind"] == "collection"]
        for f in colls:
            lo, hi = counts.get(f["name"], DEFAULT_COUNT)
            n = self.rng.randint(lo, hi)
            if f["key"] is None:  # a `keyed` collection: map keys only, no key field in the record
                self.keys[f["name"]] = self.unique_strings({}, n, f["name"], (f["name"], f["record"]))
                continue
            key_field = next(x for x in self.schema.records[f["record"]] if x["name"] == f["key"])
            if key_field["type"]["k"] == "int":
                self.keys[f["name"]] = list(range(1, n + 1))
            else:
                self.keys[f["name"]] = self.unique_strings(key_field.get("constraints", {}), n, f["name"],
                                                           (f["key"], f["record"]))
        out: dict[str, Any] = {}
        for f in self.env.STATE_FIELDS:
            if f["kind"] == "collection":
                coll: dict[Any, Any] = {}
                for key in self.keys[f["name"]]:
                    entity = self.record(f["record"], 0, {f["key"]: key} if f["key"] is not None else None)
                    coll[key] = entity
                out[f["name"]] = coll
            else:
                out[f["name"]] = self.value(f["type"], f.get("constraints", {}), 0)
        return out

    def value(self, t: dict[str, Any], c: dict[str, Any], depth: int,
              field: tuple[str, str] | None = None) -> Any:
        """A value of type t under constraints c; `field` (field name, record name) lets the value hook
        choose one that fits the field's meaning."""
        rng = self.rng
        k = t["k"]
        if "one_of" in c:
            return rng.choice(c["one_of"])
        if k == "opt":
            return None if rng.random() < 0.25 or depth > 4 else self.value(t["of"], c, depth, field)
        if self.hook is not None and field is not None and k in ("str", "int", "float", "date", "datetime"):
            # before the examples: a hook may prefer distinct values (an email per user) to a few examples
            chosen = self.hook(field[0], field[1], t, c, rng)
            if chosen is not None and _fits(chosen, k, c):
                return chosen
        if "examples" in c and k not in ("list", "map", "opt"):
            return rng.choice(c["examples"])
        if k in ("date", "datetime"):
            return random_value(k, rng)
        if k == "str":
            lo, hi = c.get("min_len", 0), c.get("max_len", 24)
            s = f"{rng.choice(_WORDS)}-{rng.randint(0, 999)}"
            if len(s) < lo:
                s = s + "x" * (lo - len(s))
            s = s[:hi]
            if "pattern" in c and not _regex(c["pattern"]).search(s):
                s = _calendar_valid(sample_regex(c["pattern"], rng), c["pattern"], rng)
                if not _regex(c["pattern"]).search(s):
                    raise GenerationError(f"cannot make a str matching {c['pattern']!r}: add @examples(...)")
            return s
        if k == "int":
            return rng.randint(int(c.get("min", 0)), int(c.get("max", max(100, int(c.get("min", 0)) + 100))))
        if k == "float":
            lo = float(c.get("min", 0.0))
            hi = float(c.get("max", lo + 1000.0))
            return round(rng.uniform(lo, hi), 2)
        if k == "bool":
            return rng.random() < 0.5
        if k == "enum":
            return rng.choice(self.schema.enums[t["name"]])
        if k == "ref":
            keys = self.keys.get(t["coll"], [])
            if not keys:
                raise GenerationError(f"no {t['coll']} to refer to: give the collection a count above 0")
            return rng.choice(keys)
        if k == "list":
            lo, hi = c.get("min_len", 0), c.get("max_len", 3)
            n = 0 if depth > 3 else rng.randint(lo, min(hi, lo + 3))
            return [self.value(t["of"], {}, depth + 1, field) for _ in range(n)]  # items mean what the list does
        if k == "map":
            n = 0 if depth > 3 else rng.randint(0, 2)
            out = {}
            for i in range(n):
                kt = t["key"]
                key = rng.choice(self.schema.enums[kt["name"]]) if kt["k"] == "enum" else \
                    (i + 1 if kt["k"] == "int" else f"{rng.choice(_WORDS)}_{i}")
                if kt["k"] == "str" and self.hook is not None and field is not None:
                    # the hook names a map's keys as `field[]` (menu item ids 'm01', payment method ids)
                    hooked = self.hook(field[0] + "[]", field[1], kt, {}, rng)
                    key = hooked if isinstance(hooked, str) and hooked not in out else key
                out[key] = self.value(t["val"], {}, depth + 1)
            return out
        if k == "record":
            return self.record(t["name"], depth)
        if k == "union":
            u = self.schema.unions[t["name"]]
            tag = rng.choice(sorted(u["variants"]))
            return self.record(u["variants"][tag], depth)
        raise GenerationError(f"cannot generate a value of kind {k}")

    def unique_strings(self, c: dict[str, Any], n: int, prefix: str,
                       field: tuple[str, str] | None = None) -> list[str]:
        if c.get("examples") and len(set(c["examples"])) >= n:
            return sorted(set(c["examples"]))[:n]
        if self.hook is not None and field is not None and "one_of" not in c:
            hooked: list[str] = []
            for _ in range(n * 20):  # keys in the field's own format (the hook's), distinct
                s = self.hook(field[0], field[1], {"k": "str"}, c, self.rng)
                if isinstance(s, str) and _fits(s, "str", c) and s not in hooked:
                    hooked.append(s)
                if len(hooked) == n:
                    return sorted(hooked)
        # too few examples for n distinct keys: sample the pattern (or number them) instead
        c = {k: v for k, v in c.items() if k != "examples"}
        if "pattern" not in c and "one_of" not in c:
            return [f"{prefix}_{i:04d}" for i in range(1, n + 1)]
        out: list[str] = []
        for _ in range(n * 50):
            s = self.value({"k": "str"}, c, 0)
            if s not in out:
                out.append(s)
            if len(out) == n:
                break
        return sorted(out)

    def record(self, name: str, depth: int, fixed: dict[str, Any] | None = None) -> dict[str, Any]:
        out = {}
        for f in self.schema.records[name]:
            if fixed and f["name"] in fixed:
                out[f["name"]] = fixed[f["name"]]
            elif "tag_value" in f:
                out[f["name"]] = f["tag_value"]
            elif f.get("absent") and self.rng.random() < 0.5:
                continue  # `name?: T`: generated states have it absent about half the time
            else:
                out[f["name"]] = self.value(f["type"], f.get("constraints", {}), depth + 1, (f["name"], name))
        return out


def _fits(value: Any, k: str, c: dict[str, Any]) -> bool:
    """Whether a hook's value has the field's kind and keeps its constraints."""
    if k in ("date", "datetime"):
        return (date_problem(value) if k == "date" else datetime_problem(value)) is None
    if k == "str":
        return (isinstance(value, str) and c.get("min_len", 0) <= len(value) <= c.get("max_len", len(value))
                and ("pattern" not in c or bool(_regex(c["pattern"]).search(value))))
    if isinstance(value, bool) or not isinstance(value, (int, float)) or (k == "int" and not isinstance(value, int)):
        return False
    return float(c.get("min", value)) <= value <= float(c.get("max", value))


def _calendar_valid(s: str, pattern: str, rng: random.Random) -> str:
    """A date (YYYY-MM-DD) or time (HH:MM) sampled from a digit pattern, made one a calendar has: a
    pattern such as ^[0-9]{4}-[0-9]{2}-[0-9]{2}$ alone gives "4648-20-62". The pattern still decides: a
    candidate it rejects is not used."""
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", s):
        year = int(s[:4])
        for _ in range(20):
            y = year if 1900 <= year <= 2100 else rng.randint(1940, 2030)
            candidate = f"{y:04d}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"
            if _regex(pattern).search(candidate):
                return candidate
    elif re.fullmatch(r"\d{2}:\d{2}", s):
        for _ in range(20):
            candidate = f"{rng.randint(7, 19):02d}:{rng.choice((0, 15, 30, 45)):02d}"
            if _regex(pattern).search(candidate):
                return candidate
    return s


def sample_regex(pattern: str, rng: random.Random) -> str:
    """A string matching a regular expression, built from Python's own parse of it.

    Covers literals, classes, ranges, repeats, groups, alternation and anchors: what
    field patterns use. Unbounded repeats are capped at a few characters."""
    import re._parser as sre  # type: ignore[import-not-found]

    def gen(items: Any) -> str:
        out = []
        for op, av in items:
            name = str(op)
            if name == "LITERAL":
                out.append(chr(av))
            elif name == "ANY":
                out.append(rng.choice("abcdefghij"))
            elif name == "IN":
                out.append(_pick_class(av, rng))
            elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
                lo, hi, sub = av
                hi = min(hi, lo + 3) if hi != sre.MAXREPEAT else lo + 3
                out.extend(gen(sub) for _ in range(rng.randint(lo, max(lo, hi))))
            elif name == "SUBPATTERN":
                out.append(gen(av[-1]))
            elif name == "BRANCH":
                out.append(gen(rng.choice(av[1])))
            elif name == "CATEGORY":
                out.append(_pick_category(str(av), rng))
        return "".join(out)

    return gen(sre.parse(pattern))


def _pick_class(items: Any, rng: random.Random) -> str:
    choices: list[str] = []
    for op, av in items:
        name = str(op)
        if name == "LITERAL":
            choices.append(chr(av))
        elif name == "RANGE":
            lo, hi = av
            choices.extend(chr(c) for c in range(lo, min(hi, lo + 60) + 1))
        elif name == "CATEGORY":
            choices.append(_pick_category(str(av), rng))
        elif name == "NEGATE":
            return rng.choice("xyz")
    return rng.choice(choices) if choices else "x"


def _pick_category(name: str, rng: random.Random) -> str:
    if "DIGIT" in name:
        return rng.choice("0123456789")
    if "SPACE" in name:
        return " "
    return rng.choice("abcdefghijklmnopqrstuvwxyz")
