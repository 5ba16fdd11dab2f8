"""Type rules of the builtin functions. Their behaviour lives in envdsl.runtime.builtins.

Each rule receives the checked arguments and returns the result type, reporting misuse
itself. Adding a builtin means a rule here, an implementation in the runtime, a line in
codegen's table, and an entry with an example in docs/language.md.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

from envdsl import ir as T
from envdsl.lang.dates import check_date_literal

if TYPE_CHECKING:
    from envdsl.lang import ast as A
    from envdsl.lang.checker import Checker

Arg = tuple[dict[str, Any], T.Type, bool]


@dataclass
class BuiltinCtx:
    checker: "Checker"
    call: "A.Call"
    args: list[Arg]
    kwargs: dict[str, tuple[Arg, Any]]
    extra: dict[str, Any] = field(default_factory=dict)
    aliases: bool = False

    def err(self, msg: str, code: str = "E0302", span: Any = None) -> None:
        self.checker.err(code, msg, span or self.call.span)

    def arity(self, lo: int, hi: int | None = None, kw: tuple[str, ...] = ()) -> bool:
        hi = lo if hi is None else hi
        n = len(self.args)
        ok = True
        if not lo <= n <= hi:
            want = str(lo) if lo == hi else f"{lo} to {hi}"
            self.err(f"{self.call.func}() takes {want} argument(s), got {n}", "E0210")
            ok = False
        for k, (_, sp) in self.kwargs.items():
            if k not in kw:
                self.err(f"{self.call.func}() has no keyword argument '{k}'", "E0206", sp)
                ok = False
        return ok

    def t(self, i: int) -> T.Type:
        return T.strip_opt(self.args[i][1]) if i < len(self.args) else T.ANY

    def want(self, i: int, kinds: tuple[str, ...], what: str) -> bool:
        if i < len(self.args) and self.args[i][1]["k"] == "opt" and "null" not in kinds:
            self.not_null(i, what)  # abs(null), len(null), upper(null) raise at run time
            return False
        k = self.t(i)["k"]
        if k == "any" or k in kinds or (k in ("date", "datetime") and "str" in kinds):
            return True  # a date is its ISO text wherever a str is wanted (old specs slice now())
        self.err(f"{self.call.func}() needs {what}, not {T.show(self.args[i][1])}", "E0301",
                 self.call.args[i].span)
        return False


    def not_null(self, i: int, what: str) -> None:
        arg = self.call.args[i]
        name = str(getattr(arg, "id", "x")) if type(arg).__name__ == "Name" else "x"
        self.checker.err("E0301", f"{self.call.func}() needs {what}, not {T.show(self.args[i][1])}: it may be null",
                         self.call.args[i].span, f"give a fallback, such as {self.call.func}({name} ?? ...), "
                         f"or test `{name} != null` first, which narrows a local")


def _elem(t: T.Type) -> T.Type:
    return t.get("of", T.ANY) if t["k"] == "list" else T.ANY


def _len(c: BuiltinCtx) -> T.Type:
    if c.arity(1):
        c.want(0, ("list", "map", "str"), "a list, map or str")
    return T.INT


def _sum(c: BuiltinCtx) -> T.Type:
    if c.arity(1) and c.want(0, ("list",), "a list of numbers"):
        e = _elem(c.t(0))
        if e["k"] not in ("int", "float", "any"):
            c.err(f"sum() needs numbers, not {T.show(e)}")
        return T.INT if e["k"] == "int" else T.FLOAT
    return T.FLOAT


def _minmax(c: BuiltinCtx) -> T.Type:
    if len(c.args) == 1:
        c.arity(1)
        if c.want(0, ("list",), "a list, or two or more values"):
            c.aliases = c.args[0][2]
            return _elem(c.t(0))
        return T.ANY
    if len(c.args) < 2:
        c.arity(1, 8)
        return T.ANY
    for i, (_, t, _) in enumerate(c.args):
        if t["k"] == "opt":  # max(null, 1) raises at run time
            c.not_null(i, "values of one kind")
            return T.ANY
    ts = [c.t(i) for i in range(len(c.args))]
    for kind in ("date", "datetime"):  # the earliest or latest of some days: ISO text orders like the days
        if all(t["k"] in (kind, "any") for t in ts) and any(t["k"] == kind for t in ts):
            return T.DATE if kind == "date" else T.DATETIME
    if all(t["k"] in ("int", "any") for t in ts):
        return T.INT
    if all(t["k"] in ("int", "float", "any") for t in ts):
        return T.FLOAT
    if all(t["k"] in ("str", "enum", "ref", "any") for t in ts):
        return T.STR
    c.err(f"{c.call.func}() needs values of one kind: numbers or strings")
    return T.ANY


def _anyall(c: BuiltinCtx) -> T.Type:
    if c.arity(1) and c.want(0, ("list",), "a list of bools"):
        if _elem(c.t(0))["k"] not in ("bool", "any"):
            c.err(f"{c.call.func}() needs a list of bools, not {T.show(c.t(0))}")
    return T.BOOL


def _sorted(c: BuiltinCtx) -> T.Type:
    if c.arity(1, 1, ("reverse",)) and c.want(0, ("list",), "a list"):
        e = _elem(c.t(0))
        if T.strip_opt(e)["k"] not in ("int", "float", "str", "enum", "ref", "any", "date", "datetime"):
            c.err(f"sorted() orders numbers or strings; use sort_by(xs, \"field\") for a list of {T.show(e)}")
        _want_bool_kw(c, "reverse")
        c.aliases = c.args[0][2]
        return c.t(0)
    return T.ANY


def _sort_by(c: BuiltinCtx) -> T.Type:
    if c.arity(2, 2, ("reverse",)) and c.want(0, ("list",), "a list of records"):
        e = T.strip_opt(_elem(c.t(0)))
        field_node = c.args[1][0]
        if field_node.get("e") != "lit" or not isinstance(field_node.get("v"), str):
            c.err("sort_by() needs the field name as a literal string, such as sort_by(xs, \"price\")")
        elif e["k"] == "record":
            fields = [f for f in c.checker.record_fields[e["name"]] if f["name"] == field_node["v"]]
            if not fields:
                c.err(f"record {e['name']} has no field '{field_node['v']}'", "E0306", c.call.args[1].span)
        elif e["k"] != "any":
            c.err(f"sort_by() needs a list of records, not {T.show(c.t(0))}")
        _want_bool_kw(c, "reverse")
        c.aliases = c.args[0][2]
        return c.t(0)
    return T.ANY


def _want_bool_kw(c: BuiltinCtx, name: str) -> None:
    if name in c.kwargs:
        (_, t, _), sp = c.kwargs[name]
        if t["k"] not in ("bool", "any"):
            c.err(f"{name}= needs a bool", "E0301", sp)


def _reversed(c: BuiltinCtx) -> T.Type:
    if c.arity(1) and c.want(0, ("list",), "a list"):
        c.aliases = c.args[0][2]
        return c.t(0)
    return T.ANY


def _count(c: BuiltinCtx) -> T.Type:
    if c.arity(2) and c.want(0, ("list", "str"), "a list or str"):
        if c.t(0)["k"] == "str" and c.t(1)["k"] not in ("str", "enum", "ref", "any"):
            c.err("count(s, sub) needs a str to count")
    return T.INT


def _first(c: BuiltinCtx) -> T.Type:
    if c.arity(1) and c.want(0, ("list",), "a list"):
        c.aliases = c.args[0][2]
        return T.opt(_elem(c.t(0)))
    return T.ANY


def _keys(c: BuiltinCtx) -> T.Type:
    if c.arity(1) and c.want(0, ("map",), "a map or collection"):
        return T.list_of(c.t(0).get("key", T.ANY))  # an `any` argument (after an error) has no key type
    return T.ANY


def _values(c: BuiltinCtx) -> T.Type:
    if c.arity(1) and c.want(0, ("map",), "a map or collection"):
        c.aliases = c.args[0][2]
        return T.list_of(c.t(0).get("val", T.ANY))
    return T.ANY


def _round(c: BuiltinCtx) -> T.Type:
    if c.arity(1, 2) and c.want(0, ("int", "float"), "a number"):
        if len(c.args) == 2:
            c.want(1, ("int",), "an int number of digits")
            return T.INT if c.t(0)["k"] == "int" else T.FLOAT
        return T.INT
    return T.ANY


def _abs(c: BuiltinCtx) -> T.Type:
    if c.arity(1) and c.want(0, ("int", "float"), "a number"):
        return c.t(0)
    return T.ANY


def _str(c: BuiltinCtx) -> T.Type:
    if c.arity(1):
        c.want(0, ("str", "int", "float", "bool", "enum", "ref", "null"), "a scalar value")
    return T.STR


def _int(c: BuiltinCtx) -> T.Type:
    if c.arity(1):
        c.want(0, ("str", "int", "float", "bool"), "a str or number")
    return T.INT


def _float(c: BuiltinCtx) -> T.Type:
    if c.arity(1):
        c.want(0, ("str", "int", "float"), "a str or number")
    return T.FLOAT


def _str_fn(n: int, result: T.Type) -> Callable[[BuiltinCtx], T.Type]:
    def rule(c: BuiltinCtx) -> T.Type:
        if c.arity(n):
            for i in range(n):
                c.want(i, ("str", "enum", "ref"), "a str")
        return result
    return rule


def _split(c: BuiltinCtx) -> T.Type:
    result = _str_fn(2, T.list_of(T.STR))(c)
    sep = c.args[1][0] if len(c.args) == 2 else None
    if sep is not None and sep.get("e") == "lit" and sep.get("v") == "":
        c.err("split() needs a non-empty separator; to go through the characters of s, write for c in s { ... }",
              "E0302", c.call.args[1].span)
    return result


def _join(c: BuiltinCtx) -> T.Type:
    if c.arity(2) and c.want(0, ("list",), "a list of str"):
        if _elem(c.t(0))["k"] not in ("str", "enum", "ref", "any"):
            c.err(f"join() needs a list of str, not {T.show(c.t(0))}")
        c.want(1, ("str",), "a separator str")
    return T.STR


def _range(c: BuiltinCtx) -> T.Type:
    if c.arity(1, 2):
        for i in range(len(c.args)):
            c.want(i, ("int",), "an int")
    return T.list_of(T.INT)


def _slice(c: BuiltinCtx) -> T.Type:
    if c.arity(2, 3) and c.want(0, ("list", "str"), "a list or str"):
        for i in range(1, len(c.args)):
            c.want(i, ("int",), "an int")
        c.aliases = c.args[0][2]
        return c.t(0)
    return T.ANY


def _to_json(c: BuiltinCtx) -> T.Type:
    c.arity(1, 1, ("sort_keys",))
    _want_bool_kw(c, "sort_keys")
    return T.STR


def _now(c: BuiltinCtx) -> T.Type:
    c.arity(0)
    return T.DATETIME  # its text is the clock's, so specs that use it as a str keep working


# ---- dates (envdsl/lang/dates.py checks literals; envdsl/runtime/dates.py runs them)
def _date_ctor(kind: str) -> Callable[[BuiltinCtx], T.Type]:
    def rule(c: BuiltinCtx) -> T.Type:
        if c.arity(1) and c.want(0, ("str", "date", "datetime"), "a str, date or datetime"):
            check_date_literal(c, kind)
        return T.DATE if kind == "date" else T.DATETIME
    return rule


def _add_months(c: BuiltinCtx) -> T.Type:
    """add_months(d, n): billing cycles and renewals, which days cannot count (months differ in length)."""
    if c.arity(2) and c.want(0, ("date", "datetime"), "a date or datetime"):
        c.want(1, ("int",), "an int number of months")
        return c.t(0) if c.t(0)["k"] != "any" else T.DATE
    return T.DATE


def _today(c: BuiltinCtx) -> T.Type:
    c.arity(0)
    return T.DATE


def _date_part(c: BuiltinCtx) -> T.Type:
    if c.arity(1):
        k = c.t(0)["k"]
        if c.args[0][1]["k"] == "opt":
            c.not_null(0, "a date or datetime")
        elif k not in ("date", "datetime", "any"):
            c.err(f"{c.call.func}() needs a date or datetime, not {T.show(c.args[0][1])}", "E0301",
                  c.call.args[0].span)
    return T.INT


def _new_id(c: BuiltinCtx) -> T.Type:
    if c.arity(2, 2, ("width",)) and c.want(0, ("map",), "a collection or map"):
        c.want(1, ("str",), "a prefix str")
        if "width" in c.kwargs and c.kwargs["width"][0][1]["k"] not in ("int", "any"):
            c.err("width= needs an int", "E0301", c.kwargs["width"][1])
    return T.STR


def _calc(c: BuiltinCtx) -> T.Type:
    if c.arity(1):
        c.want(0, ("str",), "an arithmetic expression as a str")
    return T.FLOAT


def _zip(c: BuiltinCtx) -> T.Type:
    c.err("zip() can only be used in a for loop: for a, b in zip(xs, ys) { ... }", "E0209")
    return T.ANY


BUILTINS: dict[str, Callable[[BuiltinCtx], T.Type]] = {
    "len": _len, "sum": _sum, "min": _minmax, "max": _minmax, "any": _anyall, "all": _anyall,
    "sorted": _sorted, "sort_by": _sort_by, "reversed": _reversed, "count": _count, "first": _first,
    "keys": _keys, "values": _values, "round": _round, "abs": _abs, "str": _str, "int": _int, "float": _float,
    "lower": _str_fn(1, T.STR), "upper": _str_fn(1, T.STR), "strip": _str_fn(1, T.STR),
    "fold": _str_fn(1, T.STR), "startswith": _str_fn(2, T.BOOL), "endswith": _str_fn(2, T.BOOL),
    "split": _split, "replace": _str_fn(3, T.STR), "join": _join, "range": _range,
    "slice": _slice, "to_json": _to_json, "now": _now, "today": _today, "date": _date_ctor("date"),
    "datetime": _date_ctor("datetime"), "year": _date_part, "month": _date_part, "day": _date_part,
    "weekday": _date_part, "add_months": _add_months, "new_id": _new_id, "calc": _calc, "zip": _zip,
}
