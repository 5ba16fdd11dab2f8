"""Near misses: a valid JSON value with one thing changed, aimed at a schema's edges.

Used to check that the published schema and the runtime agree on values around the line
between valid and invalid: boundary numbers and lengths on both sides, non-members of an enum,
other JSON types, dropped and unknown properties, at any depth of the value. One place in the
value is picked (every property value, item and container is a place), then one change there.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from envdsl.proptest.schema_check import schema_problems
from envdsl.proptest.schema_strategy import json_values

OTHER_TYPES: list[Any] = [None, True, 0, 1.5, 2.0, "x", [], {}]
EXTRA_NAMES = ["extra", "zz", "_x", "Name"]

Path = tuple[Any, ...]


def bound_values(s: dict[str, Any]) -> list[Any]:
    """Values on and just past each bound of a schema: where validators disagree if they do."""
    out: list[Any] = []
    for key, delta in (("minimum", -1), ("maximum", 1)):
        if key in s:
            out += [s[key] + delta, s[key], s[key] + delta / 2]
    if "minLength" in s:
        out += ["a" * max(0, s["minLength"] - 1), "a" * s["minLength"]]
    if "maxLength" in s:
        out += ["a" * (s["maxLength"] + 1), "a" * s["maxLength"]]
    if "pattern" in s:
        out += ["", "!", "a", "0"]
    if s.get("format") == "date":  # a day past the month's end, the non-leap Feb 29, a short form, a datetime
        out += ["2024-02-30", "2023-02-29", "2024-5-1", "2024-05-01T00:00:00", "2024-02-29"]
    if s.get("format") == "date-time":  # a zone, fractions, a space, an hour past 23, a bare date
        out += ["2024-05-01T09:30:00Z", "2024-05-01T09:30:00.5", "2024-05-01 09:30:00", "2024-05-01T24:00:00",
                "2024-05-01", "2024-05-01T09:30:00"]
    for alt in s.get("enum", []) + [e for a in s.get("anyOf", []) for e in a.get("enum", [])]:
        out += [f"{alt}_x" if isinstance(alt, str) else alt, alt]
    return out


def _pick(draw: Any, items: list[Any]) -> Any:
    return items[draw(st.integers(0, len(items) - 1))]


def _sub_for(value: Any, s: dict[str, Any]) -> dict[str, Any]:
    """The branch of an anyOf that the value satisfies (so we can look inside it)."""
    for alt in s.get("anyOf", []):
        if not schema_problems(value, alt):
            return {**alt, **{k: v for k, v in s.items() if k != "anyOf"}}
    return s


def _places(v: Any, s: dict[str, Any], path: Path, out: list[tuple[Path, Any, dict[str, Any]]]) -> None:
    s = _sub_for(v, s)
    out.append((path, v, s))
    if isinstance(v, dict):
        props = s.get("properties", {})
        extra = s.get("additionalProperties")
        for key, x in v.items():
            _places(x, props.get(key, extra if isinstance(extra, dict) else {}), path + (key,), out)
    elif isinstance(v, list):
        for i, x in enumerate(v):
            _places(x, s.get("items", {}), path + (i,), out)


def _replace(value: Any, path: Path, new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    out = list(value)
    out[head] = _replace(value[head], rest, new)
    return out


def all_near_misses(value: Any, schema: dict[str, Any]) -> list[Any]:
    """Every single change at a bound, every other JSON type at every place, every dropped and
    one unknown property: the deterministic sweep run before the drawn near misses."""
    places: list[tuple[Path, Any, dict[str, Any]]] = []
    _places(value, schema, (), places)
    out = []
    for path, v, s in places:
        for new in bound_values(s) + OTHER_TYPES:
            out.append(_replace(value, path, new))
        if isinstance(v, dict):
            out.extend(_replace(value, path, {k: x for k, x in v.items() if k != key}) for key in v)
            out.append(_replace(value, path, {**v, EXTRA_NAMES[0]: 1}))
    return out


def draw_near_miss(draw: Any, value: Any, schema: dict[str, Any]) -> Any:
    """`draw` is data.draw of a hypothesis st.data()."""
    places: list[tuple[Path, Any, dict[str, Any]]] = []
    _places(value, schema, (), places)
    # the whole value is rarely the interesting place: pick inside it when there is an inside
    path, v, s = _pick(draw, places[1:] if len(places) > 1 and draw(st.integers(0, 3)) else places)
    ops = ["bound", "type", "random"]
    if isinstance(v, dict):
        ops += ["drop", "extra"] if v else ["extra"]
    elif isinstance(v, list):
        ops += ["drop_item", "add_item"] if v else ["add_item"]
    bounds = bound_values(s)
    op = _pick(draw, ops if bounds else ops[1:])
    if op == "bound":
        new = _pick(draw, bounds)
    elif op == "type":
        new = _pick(draw, OTHER_TYPES)
    elif op == "random":
        new = draw(json_values)
    elif op == "drop":
        new = dict(v)
        del new[_pick(draw, sorted(v))]
    elif op == "extra":
        new = {**v, _pick(draw, EXTRA_NAMES): draw(json_values)}
    elif op == "drop_item":
        new = list(v)
        del new[draw(st.integers(0, len(v) - 1))]
    else:
        new = list(v) + [_pick(draw, bound_values(s.get("items", {})) + OTHER_TYPES)]
    return _replace(value, path, new)
