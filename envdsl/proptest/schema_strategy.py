"""JSON Schema (the subset envdsl publishes) -> a hypothesis strategy for values it accepts.

Every drawn value is checked against the schema with schema_check (a filter), so sibling
keywords that a branch cannot honour on its own (a pattern beside anyOf, say) still hold.
Sizes and numbers are kept small: the gate wants many cheap examples, not big ones.
"""

from __future__ import annotations

import datetime as _dt
import json
from functools import lru_cache
from typing import Any

from hypothesis import strategies as st

from envdsl.proptest.schema_check import schema_problems

NUMBER_SPAN = 10**6  # unbounded numbers are drawn within +- this
MAX_DEPTH = 4
_ASCII = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _-.@"

json_scalars = st.one_of(st.none(), st.booleans(), st.integers(-NUMBER_SPAN, NUMBER_SPAN),
                         st.floats(-NUMBER_SPAN, NUMBER_SPAN, allow_nan=False), st.text(_ASCII, max_size=8))
json_values = st.recursive(json_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(_ASCII, max_size=6), inner, max_size=3)), max_leaves=6)


def text(min_size: int = 0, max_size: int | None = None) -> st.SearchStrategy[str]:
    """Mostly readable ASCII, sometimes any Unicode (no lone surrogates: JSON text cannot carry them)."""
    hi = min(max_size if max_size is not None else min_size + 12, min_size + 12)
    return st.one_of(st.text(_ASCII, min_size=min_size, max_size=hi),
                     st.text(st.characters(codec="utf-8"), min_size=min_size, max_size=hi))


def from_schema(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    return _cached(json.dumps(schema, sort_keys=True), 0)


@lru_cache(maxsize=4096)
def _cached(key: str, depth: int) -> st.SearchStrategy[Any]:
    schema = json.loads(key)
    return _build(schema, depth).filter(lambda v: not schema_problems(v, schema))


def _sub(schema: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    return _cached(json.dumps(schema, sort_keys=True), depth + 1)


def _build(s: dict[str, Any], depth: int) -> st.SearchStrategy[Any]:
    if "enum" in s:
        return st.sampled_from(s["enum"])
    if "anyOf" in s:
        return st.one_of([_sub(x, depth) for x in s["anyOf"]])
    types = s.get("type")
    if types is None:
        return json_scalars if depth >= MAX_DEPTH else json_values
    if isinstance(types, list):
        return st.one_of([_build({**s, "type": t}, depth) for t in types])
    if types == "null":
        return st.none()
    if types == "boolean":
        return st.booleans()
    if types == "integer":
        lo, hi = _bounds(s)
        return st.integers(int(lo), int(hi))
    if types == "number":
        lo, hi = _bounds(s)
        return st.one_of(st.integers(int(-(-lo // 1)), int(hi // 1)) if hi - lo >= 1 else st.nothing(),
                         st.floats(lo, hi, allow_nan=False, allow_infinity=False))
    if types == "string":
        if s.get("format") == "date":  # real calendar days only: the check filters nothing else out
            return st.dates(_dt.date(2000, 1, 1), _dt.date(2030, 12, 31)).map(lambda d: d.isoformat())
        if s.get("format") == "date-time":
            return st.datetimes(_dt.datetime(2000, 1, 1), _dt.datetime(2030, 12, 31)).map(
                lambda t: t.replace(microsecond=0).isoformat(timespec="seconds"))
        if "pattern" in s:
            return st.from_regex(s["pattern"])
        return text(s.get("minLength", 0), s.get("maxLength"))
    if types == "array":
        lo = s.get("minItems", 0)
        hi = 0 if depth >= MAX_DEPTH else min(s.get("maxItems", lo + 3), lo + 3)
        return st.lists(_sub(s.get("items", {}), depth), min_size=lo, max_size=max(lo, hi))
    if types == "object":
        return _object(s, depth)
    raise ValueError(f"cannot generate values of JSON type {types!r}")


def _bounds(s: dict[str, Any]) -> tuple[float, float]:
    lo: float | None = s.get("minimum")
    hi: float | None = s.get("maximum")
    if lo is None and hi is None:
        return -NUMBER_SPAN, NUMBER_SPAN
    if lo is None:
        assert hi is not None
        return hi - NUMBER_SPAN, hi
    return lo, lo + NUMBER_SPAN if hi is None else hi


def _object(s: dict[str, Any], depth: int) -> st.SearchStrategy[dict[str, Any]]:
    props = s.get("properties", {})
    required = set(s.get("required", []))
    fixed = st.fixed_dictionaries({k: _sub(v, depth) for k, v in props.items() if k in required},
                                  optional={k: _sub(v, depth) for k, v in props.items() if k not in required})
    extra = s.get("additionalProperties", True)
    if extra is False or depth >= MAX_DEPTH:
        return fixed
    names = _sub(s["propertyNames"], depth) if "propertyNames" in s else st.text(_ASCII, max_size=6)
    values = json_values if extra is True else _sub(extra, depth)
    more = st.dictionaries(names.filter(lambda k: k not in props), values, max_size=2)
    return st.tuples(fixed, more).map(lambda p: {**p[1], **p[0]})
