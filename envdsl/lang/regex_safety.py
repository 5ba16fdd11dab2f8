"""Which @pattern regular expressions could take exponential time: refused at compile time (E0705).

Python's `re` backtracks, so `^(a+)+$` against 35 a's and a b runs for minutes. Patterns come
from untrusted specs and are matched against tool arguments and seed values, so the checker
refuses the shapes that backtrack exponentially:

- a repeated group holding something that itself repeats a variable number of times: `(a+)+`,
  `(a*)*`, `(.*a){20}`, `(\\w+\\s?)*`;
- a repeated alternation whose branches can start with the same character: `(a|a)*`, `(a|ab)+`.

This is a static check on the parsed pattern, deliberately strict: a pattern it refuses can be
rewritten without the nesting (`^a+$` instead of `^(a+)+$`). Fixed-size repeats inside a repeat
(`(\\d{3}-)+`) and repeats side by side (`\\d+-\\d+`) are fine: they backtrack at most polynomially.
"""

from __future__ import annotations

from typing import Any

try:  # Python 3.11+: the parser moved under re
    from re import _constants as _C  # type: ignore[attr-defined]
    from re import _parser as _P  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_constants as _C  # type: ignore[no-redef]
    import sre_parse as _P  # type: ignore[no-redef]

_REPEATS = {_C.MAX_REPEAT, _C.MIN_REPEAT, getattr(_C, "POSSESSIVE_REPEAT", None)} - {None}
_MAXREPEAT = _C.MAXREPEAT
_UNKNOWN = None  # a first-character set we cannot work out: assume it overlaps everything


def backtracking_problem(pattern: str) -> str | None:
    """Why the pattern may take exponential time, or None. The pattern must already compile."""
    try:
        parsed = _P.parse(pattern)
    except Exception:  # noqa: BLE001 - re.compile accepted it; be safe and check nothing more
        return None
    return _scan(list(parsed))


def _items(sub: Any) -> list[Any]:
    return list(sub.data) if hasattr(sub, "data") else list(sub)


def _scan(items: list[Any]) -> str | None:
    for op, av in items:
        if op in _REPEATS:
            lo, hi, sub = av
            body = _items(sub)
            repeats = hi == _MAXREPEAT or hi > 1
            if repeats:
                if _variable(body) and _has_variable_repeat(body):
                    return "a repeated group holds something that repeats a variable number of times"
                problem = _overlapping_branches(body)
                if problem:
                    return problem
            problem = _scan(body)
            if problem:
                return problem
        elif op == _C.SUBPATTERN:
            problem = _scan(_items(av[-1]))
            if problem:
                return problem
        elif op == _C.BRANCH:
            for branch in av[1]:
                problem = _scan(_items(branch))
                if problem:
                    return problem
        elif op in (_C.ASSERT, _C.ASSERT_NOT):
            problem = _scan(_items(av[1]))
            if problem:
                return problem
    return None


def _has_variable_repeat(items: list[Any]) -> bool:
    for op, av in items:
        if op in _REPEATS:
            lo, hi, sub = av
            if lo != hi or _has_variable_repeat(_items(sub)):
                return True
        elif op == _C.SUBPATTERN and _has_variable_repeat(_items(av[-1])):
            return True
        elif op == _C.BRANCH and any(_has_variable_repeat(_items(b)) for b in av[1]):
            return True
    return False


def _variable(items: list[Any]) -> bool:
    """Whether the items can match strings of more than one length."""
    lo, hi = _width(items)
    return lo != hi


def _width(items: list[Any]) -> tuple[int, int]:
    try:
        lo, hi = _P.SubPattern(_P.State(), items).getwidth() if hasattr(_P, "State") else (0, _MAXREPEAT)
    except Exception:  # noqa: BLE001
        return 0, _MAXREPEAT
    return int(lo), int(hi)


def _overlapping_branches(items: list[Any]) -> str | None:
    """An alternation anywhere in a repeated body whose branches could match the same text in
    two ways: two branches starting with the same character, or a branch that matches nothing
    (the parser factors `(a|aa)` into `a(|a)`), each doubling the ways to split the input."""
    for op, av in items:
        if op == _C.SUBPATTERN:
            found = _overlapping_branches(_items(av[-1]))
        elif op == _C.BRANCH:
            found = _ambiguous_branch([_items(b) for b in av[1]])
            for branch in av[1]:
                found = found or _overlapping_branches(_items(branch))
        else:
            found = None
        if found:
            return found
    return None


def _ambiguous_branch(branches: list[list[Any]]) -> str | None:
    seen: set[int] = set()
    for branch in branches:
        if _width(branch)[0] == 0:
            return "a repeated alternation has a branch that can match nothing"
        first = _first_chars(branch)
        if first is _UNKNOWN or seen & first:
            return "a repeated alternation has branches that can start with the same character"
        seen |= first
    return None


def _first_chars(items: list[Any]) -> set[int] | None:
    """The characters a match of items can start with, when that is a small known set."""
    for op, av in items:
        if op == _C.AT:
            continue
        if op == _C.LITERAL:
            return {av}
        if op == _C.IN:
            out: set[int] = set()
            for kind, value in av:
                if kind == _C.LITERAL:
                    out.add(value)
                elif kind == _C.RANGE and value[1] - value[0] <= 1024:
                    out.update(range(value[0], value[1] + 1))
                else:
                    return _UNKNOWN
            return out
        if op == _C.SUBPATTERN:
            return _first_chars(_items(av[-1]))
        return _UNKNOWN
    return _UNKNOWN
