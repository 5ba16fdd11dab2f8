"""What the builtin functions of the spec language do at run time (their types: envdsl.lang.builtins).

Generated tool code calls these. They keep Python's semantics where the spec language
promises them (float arithmetic, round, sorted) and turn Python's exceptions into
ToolError so a tool never raises anything else for a bad value.
"""

from __future__ import annotations

import ast as _pyast
import json
import math
import operator
import re
import unicodedata
from typing import Any, Callable

from envdsl.runtime.budget import bounded_int as bounded_int  # `*` on ints: squaring in a loop grows forever
from envdsl.runtime.budget import check_size
from envdsl.runtime.budget import sized as sized  # generated code calls rt.sized and rt.steps
from envdsl.runtime.budget import steps as steps
from envdsl.runtime.dates import add_months as add_months
from envdsl.runtime.dates import date_add as date_add  # generated code calls rt.date_add, rt.parse_date, ...
from envdsl.runtime.dates import date_diff as date_diff
from envdsl.runtime.dates import date_sub as date_sub
from envdsl.runtime.dates import datetime_add as datetime_add
from envdsl.runtime.dates import datetime_diff as datetime_diff
from envdsl.runtime.dates import datetime_sub as datetime_sub
from envdsl.runtime.dates import day as day
from envdsl.runtime.dates import month as month
from envdsl.runtime.dates import parse_date as parse_date
from envdsl.runtime.dates import parse_datetime as parse_datetime
from envdsl.runtime.dates import today as today
from envdsl.runtime.dates import weekday as weekday
from envdsl.runtime.dates import year as year
from envdsl.runtime.errors import ToolError

MAX_RANGE = 100_000
MAX_POW = 10_000


def div(a: Any, b: Any) -> Any:
    if b == 0:
        raise ToolError("division by zero")
    return a / b


def floordiv(a: Any, b: Any) -> Any:
    if b == 0:
        raise ToolError("division by zero")
    return a // b


def mod(a: Any, b: Any) -> Any:
    if b == 0:
        raise ToolError("modulo by zero")
    return a % b


def power(a: Any, b: Any) -> Any:
    if isinstance(b, int) and abs(b) > MAX_POW or isinstance(a, (int, float)) and abs(a) > 1e6 and b > 64:
        raise ToolError("exponent too large")
    try:
        result = a ** b
    except (OverflowError, ZeroDivisionError) as e:
        raise ToolError(str(e)) from None
    if isinstance(result, complex):
        raise ToolError("power of a negative number is not a real number")
    return bounded_int(result)


def lookup(container: Any, key: Any, message: str) -> Any:
    """container[key], or a ToolError with the spec's message when the key or index is missing."""
    try:
        value = container[key]
    except (KeyError, IndexError, TypeError):
        raise ToolError(message) from None
    if value is None:
        raise ToolError(message)
    return value


def lookup_or(container: Any, key: Any, default: Any) -> Any:
    try:
        value = container[key]
    except (KeyError, IndexError, TypeError):
        return default
    return default if value is None else value


def nonnull(value: Any, message: str) -> Any:
    if value is None:
        raise ToolError(message)
    return value


def coalesce(value: Any, default: Any) -> Any:
    return default if value is None else value


def first(xs: list[Any]) -> Any:
    return xs[0] if xs else None


def min_(*args: Any) -> Any:
    items = args[0] if len(args) == 1 else args
    if not items:
        raise ToolError("min() of an empty list")
    return min(items)


def max_(*args: Any) -> Any:
    items = args[0] if len(args) == 1 else args
    if not items:
        raise ToolError("max() of an empty list")
    return max(items)


def sort_by(xs: list[Any], field: str, reverse: bool = False) -> list[Any]:
    try:
        return sorted(xs, key=lambda x: x[field], reverse=reverse)
    except TypeError:
        raise ToolError(f"cannot sort by '{field}': some values are null or of different kinds") from None


def sorted_(xs: list[Any], reverse: bool = False) -> list[Any]:
    try:
        return sorted(xs, reverse=reverse)
    except TypeError:
        raise ToolError("cannot sort a list holding null or values of different kinds") from None


def to_int(x: Any) -> int:
    try:
        return int(x)
    except (ValueError, OverflowError):
        raise ToolError(f"cannot convert {x!r} to an int") from None


def to_float(x: Any) -> float:
    try:
        result = float(x)
    except ValueError:
        raise ToolError(f"cannot convert {x!r} to a float") from None
    return result


def fmt(x: Any, spec: str) -> str:
    if any(len(n) > 4 for n in re.findall(r"[0-9]+", spec)):  # a width or precision of 10,000 or more
        raise ToolError(f"format ':{spec}' asks for too wide a result")
    try:
        return format(x, spec)
    except (ValueError, TypeError):
        raise ToolError(f"cannot format {x!r} with ':{spec}'") from None


def fold(s: str) -> str:
    """Case- and accent-insensitive form of a string, for matching what a person typed or said."""
    decomposed = unicodedata.normalize("NFKD", s)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold().strip()


def split(s: str, sep: str) -> list[str]:
    if sep == "":
        raise ToolError("split() separator is empty")
    return s.split(sep)


def range_(a: int, b: int | None = None) -> list[int]:
    lo, hi = (0, a) if b is None else (a, b)
    if hi - lo > MAX_RANGE:
        raise ToolError(f"range of more than {MAX_RANGE} numbers")
    return list(range(lo, hi))


def slice_(xs: Any, start: int, stop: int | None = None) -> Any:
    return xs[start:stop]


def to_json(value: Any, sort_keys: bool = False) -> str:
    return json.dumps(value, sort_keys=sort_keys)


def new_id(existing: dict[str, Any], prefix: str, width: int = 4) -> str:
    """The first of prefix0001, prefix0002, ... not already a key: deterministic for a given state."""
    n = len(existing) + 1
    while True:  # terminates: at most len(existing) + 1 candidates are taken
        candidate = f"{prefix}{n:0{width}d}"
        if candidate not in existing:
            return candidate
        n += 1


def count(xs: Any, x: Any) -> int:
    return int(xs.count(x))


# ---- calc: arithmetic on a string, with Python's semantics and no eval ----------------
_BIN: dict[type, Callable[[Any, Any], Any]] = {
    _pyast.Add: operator.add, _pyast.Sub: operator.sub, _pyast.Mult: operator.mul,
    _pyast.Div: operator.truediv, _pyast.FloorDiv: operator.floordiv, _pyast.Mod: operator.mod,
    _pyast.Pow: power,
}
_UN: dict[type, Callable[[Any], Any]] = {_pyast.USub: operator.neg, _pyast.UAdd: operator.pos}
CALC_CHARS = frozenset("0123456789+-*/(). ")


def calc(expression: str) -> float:
    """Evaluate + - * / // % ** and parentheses on numbers, as Python's eval would, without eval().

    The string is parsed with Python's own parser (ast.parse, which never runs code) and only
    number literals and arithmetic operators are evaluated; anything else is an error. Error
    messages are Python's own ("division by zero", "invalid syntax (<string>, line 1)").
    """
    if len(expression) > 1000:
        raise ToolError("expression too long")
    try:
        # eval() ignores leading blanks of a string; ast.parse would call them an indent
        tree = _pyast.parse(expression.lstrip(" \t"), filename="<string>", mode="eval")
    except SyntaxError as e:
        raise ToolError(str(e)) from None
    result = _calc_node(tree.body)
    try:
        return float(result)
    except OverflowError as e:
        raise ToolError(str(e)) from None


def _calc_node(node: _pyast.AST) -> Any:
    if isinstance(node, _pyast.Constant) and type(node.value) in (int, float):
        return node.value
    if isinstance(node, _pyast.BinOp) and type(node.op) in _BIN:
        left, right = _calc_node(node.left), _calc_node(node.right)
        try:
            result = _BIN[type(node.op)](left, right)
        except (ZeroDivisionError, OverflowError) as e:
            raise ToolError(str(e)) from None
        if isinstance(result, float) and math.isinf(result):
            raise ToolError("result too large")
        return result
    if isinstance(node, _pyast.UnaryOp) and type(node.op) in _UN:
        return _UN[type(node.op)](_calc_node(node.operand))
    raise ToolError("only numbers, + - * / and parentheses are allowed")


# ---- bounded versions of operations whose result can grow without limit (see runtime/budget.py)


def join(sep: str, xs: list[str]) -> str:
    check_size(sum(len(x) for x in xs) + len(sep) * max(len(xs) - 1, 0))
    return sized(sep.join(xs))


def replace(s: str, old: str, new: str) -> str:
    count = s.count(old) if old else len(s) + 1
    check_size(len(s) + count * (len(new) - len(old)))
    return sized(s.replace(old, new))


def round_(x: Any, *digits: Any) -> Any:
    """Python's round, with infinities and NaN (which have no int) reported as a tool error."""
    try:
        return round(x, *digits)
    except (OverflowError, ValueError) as e:
        raise ToolError(f"cannot round {x!r}: {e}") from None



def to_enum(value: Any, members: tuple[str, ...] | list[str], enum: str) -> str:
    """`Status(s)`: s itself when it is a member of the enum, else a ToolError naming it and the members."""
    if isinstance(value, str) and value in members:
        return value
    shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
    raise ToolError(f"{shown} is not a {enum}; one of: {', '.join(map(repr, members))}")
