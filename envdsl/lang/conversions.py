"""Two small checks of the language's value rules: enum conversion and returns from functions with no result.

`Status(s)`: a str turned into a member of an enum, checked like a lookup.

Calling an enum by its name converts: a literal argument is checked now (E0215, as anywhere an enum
member is written), any other str is checked when the tool runs, and a value that is not a member
fails the call with a message naming the value and the members (rolled back like any failure).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envdsl import ir as T
from envdsl.lang import ast as A

if TYPE_CHECKING:
    from envdsl.lang.checker import Checker


def enum_conversion(c: "Checker", e: A.Call) -> tuple[dict[str, Any], T.Type, bool]:
    name = e.func
    members = [m for m, _ in c.enums[name].members]
    result = T.named("enum", name)
    if len(e.args) != 1 or e.kwargs:
        c.err("E0904", f"{name}(...) converts one str to a member of enum {name}: give it exactly one value",
              e.span, f"such as {name}(s) or {name}({members[0]!r})".replace("'", '"'))
        for a in e.args:
            c.expr(a)
        for _, v, _ in e.kwargs:
            c.expr(v)
        return {"e": "lit", "v": None}, result, False
    x, xt, _ = c.expr(e.args[0])
    base = T.strip_opt(xt)
    if xt["k"] == "opt":
        c.err("E0904", f"{name}(...) needs a str, not {T.show(xt)}: it may be null", e.args[0].span,
              "give a fallback with ?? or test it against null first")
    elif base["k"] == "enum" and base["name"] == name:
        return x, result, False  # already a member: nothing to convert
    elif base["k"] not in ("str", "enum", "any"):
        c.err("E0904", f"{name}(...) converts a str to a member of enum {name}, not {T.show(xt)}",
              e.args[0].span)
    elif isinstance(e.args[0], A.Lit):
        c._check_enum_literal(result, e.args[0])  # E0215 now, not at run time
    return {"e": "call", "fn": "enum_of", "enum": name, "members": members, "args": [x], "kwargs": {}}, \
        result, False


def no_result_return(c: "Checker", s: A.Return) -> dict[str, Any]:
    """`return` in a function: bare only where it has no result, with a value only where it has one (E0905)."""
    assert c.current is not None
    name = c.current.decl.name
    if s.value is None and c.current.returns["k"] != "none":
        c.err("E0905", f"'{name}' returns {T.show(c.current.returns)}: give `return` a value", s.span)
    elif s.value is not None:
        c.expr(s.value)
        c.err("E0905", f"'{name}' is declared with no result, so `return` takes no value", s.value.span,
              "declare the result type, such as `-> str`, or write a bare `return`")
    return {"s": "return", "value": {"e": "lit", "v": None, "t": T.NONE}}
