"""Compile-time checks of date and datetime literals.

The runtime's envdsl/runtime/dates.py holds the same two forms; the front end may not import the
runtime (DESIGN.md, layers), so the few lines that decide "is this a calendar day" live here too.
tests/test_dates.py checks that both agree on every literal the docs and tests use.
"""

from __future__ import annotations

import datetime as _dt
import re
from typing import TYPE_CHECKING, Any

from envdsl import ir as T

if TYPE_CHECKING:
    from envdsl.lang import ast as A
    from envdsl.lang.builtins import BuiltinCtx
    from envdsl.lang.checker import Checker

DATE_FORMAT = "YYYY-MM-DD"
DATETIME_FORMAT = "YYYY-MM-DDTHH:MM:SS"
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}")


def literal_problem(value: Any, kind: str) -> str | None:
    """Why the literal text is not a `kind` ("date" or "datetime"), or None. Either constructor takes
    the other's form too (a datetime's day, a date's midnight), as at run time."""
    if not isinstance(value, str):
        return f"{value!r} is not a str"
    for pattern, parse in ((_DATE, _dt.date.fromisoformat), (_DATETIME, _dt.datetime.fromisoformat)):
        if pattern.fullmatch(value):
            try:
                parse(value)
            except ValueError:
                return f"{value!r} is not a day of the calendar" if pattern is _DATE else \
                    f"{value!r} is not a time of the calendar"
            return None
    want = DATE_FORMAT if kind == "date" else DATETIME_FORMAT
    return f"{value!r} is not a {kind} in the form {want}"


def exact_problem(value: Any, kind: str) -> str | None:
    """Why `value` is not exactly a `kind` in canonical form (a default or constant stored as is), or None."""
    pattern = _DATE if kind == "date" else _DATETIME
    if not isinstance(value, str) or not pattern.fullmatch(value):
        return f"{value!r} is not a {kind} in the form {DATE_FORMAT if kind == 'date' else DATETIME_FORMAT}"
    return literal_problem(value, kind)


def check_date_literal(c: "BuiltinCtx", kind: str) -> None:
    """`date("2024-02-30")`: a literal argument is checked now, where the spec says it (E0901)."""
    node = c.args[0][0]
    if node.get("e") == "lit" and isinstance(node.get("v"), str):
        problem = literal_problem(node["v"], kind)
        if problem is not None:
            c.err(problem, "E0901", c.call.args[0].span)


DATE_ARITH_HINT = ("a date takes + and - with an int number of days, a datetime with an int number of seconds; "
                   "subtract two dates (or two datetimes) to get the days (seconds) between them")


def date_arith_type(op: str, ka: str, kb: str) -> T.Type | None:
    """The type of `a op b` where a or b is a date or datetime, or None where it is not defined:
    date +/- int is a date (days), int + date too; date - date is an int (days); the same for datetime in seconds."""
    for kind, typ in (("date", T.DATE), ("datetime", T.DATETIME)):
        if op == "+" and {ka, kb} == {kind, "int"}:
            return typ
        if op == "-" and ka == kind and kb == "int":
            return typ
        if op == "-" and ka == kb == kind:
            return T.INT
    return None


def date_order_hint(a: T.Type, b: T.Type) -> str:
    kinds = {T.strip_opt(a)["k"], T.strip_opt(b)["k"]}
    if kinds == {"date", "datetime"}:
        return "compare like with like: date(t) is the day of a datetime t, datetime(d) the midnight of a date d"
    kind = "date" if "date" in kinds else "datetime"
    return f"turn the other side into a {kind} first, such as {kind}(s) or {kind}(\"2024-05-01\")"


def date_call_literal(e: "A.Expr") -> str | None:
    """The text of `date("...")` or `datetime("...")` with a literal argument, where a constant or a
    default is expected; None for anything else."""
    from envdsl.lang import ast as A  # the AST imports nothing of ours, but keep the import local to its use

    if isinstance(e, A.Call) and e.func in ("date", "datetime") and len(e.args) == 1 and not e.kwargs:
        arg = e.args[0]
        if isinstance(arg, A.Lit) and isinstance(arg.value, str):
            return arg.value
    return None


def date_literal_beside(c: "Checker", t: T.Type, other: "A.Expr") -> bool:
    """Whether `other` is a str literal compared with a date (or datetime) of type t; such a literal is
    checked to be one (E0901), so a comparison can never silently test against an impossible day."""
    from envdsl.lang import ast as A

    kind = T.strip_opt(t)["k"]
    if kind not in ("date", "datetime") or not isinstance(other, A.Lit) or not isinstance(other.value, str):
        return False
    problem = exact_problem(other.value, kind)
    if problem is not None:
        c.err("E0901", problem, other.span)
    return True
