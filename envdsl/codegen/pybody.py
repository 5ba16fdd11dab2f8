"""IR function bodies -> Python source.

Every value from a spec reaches the output through `literal()` (Python's repr of JSON data,
which is always a valid, inert literal) or as a name the checker has validated against
[A-Za-z_][A-Za-z0-9_]* and passed through `python_safe`. No spec text is ever pasted raw.

Every change to a value goes through the runtime's `db` so it can be undone: even changes
to locals, which costs little and keeps the rollback guarantee independent of alias analysis.
"""

from __future__ import annotations

import keyword
import re
from typing import Any, Iterable

_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PY_TAKEN = frozenset({"rt", "db", "S", "ToolError", "Any", "len", "str", "int", "float", "bool", "list", "dict",
                       "sum", "min", "max", "any", "all", "sorted", "round", "abs", "range", "zip", "enumerate",
                       "reversed", "print", "type", "object", "id", "json", "self", "format", "iter", "next",
                       "l", "O", "I"})  # the last three are ambiguous names to linters (E741)


class Namer:
    """Python names for the spec names that share one Python scope.

    Each spec name claims a name that is no keyword and distinct from every name the scope already
    holds (its imports, builtins, generated names, earlier claims): renaming stays injective, so
    two spec names never end up as one Python name, whatever the spec calls things."""

    def __init__(self, taken: Iterable[str] = ()):
        self.used: set[str] = set(taken)

    def claim(self, preferred: str) -> str:
        if not _IDENT.match(preferred):  # the grammar guarantees this; guard against a hand-edited IR
            raise ValueError(f"not an identifier: {preferred!r}")
        py = preferred
        while py in self.used or keyword.iskeyword(py):
            py += "_"
        self.used.add(py)
        return py


def python_safe(name: str) -> str:
    if not _IDENT.match(name):  # the grammar guarantees this; guard against a hand-edited IR
        raise ValueError(f"not an identifier: {name!r}")
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in _PY_TAKEN:
        return name + "_"
    return name


def literal(v: Any) -> str:
    """A JSON value as a Python literal."""
    if v is None or isinstance(v, (bool, int)):
        return repr(v)
    if isinstance(v, float):
        r = repr(v)
        if r in ("inf", "-inf", "nan"):
            raise ValueError("non-finite float in IR")
        return r
    if isinstance(v, str):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(literal(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{literal(str(k))}: {literal(x)}" for k, x in v.items()) + "}"
    raise ValueError(f"not JSON data: {type(v).__name__}")


def py_type(t: dict[str, Any]) -> str:
    k = t["k"]
    if k in ("str", "enum", "date", "datetime"):
        return "str"
    if k == "none":  # a function with no result
        return "None"
    if k in ("int", "float", "bool"):
        return k
    if k == "ref":
        return py_type(t["key"])
    if k == "opt":
        inner = py_type(t["of"])
        return "Any" if inner == "Any" else f"{inner} | None"
    return "Any"


_SIMPLE_BUILTINS = {"len": "len", "sum": "sum", "any": "any", "all": "all", "abs": "abs", "str": "str",
                    "min": "rt.min_", "max": "rt.max_", "first": "rt.first", "int": "rt.to_int",
                    "float": "rt.to_float", "fold": "rt.fold", "split": "rt.split", "range": "rt.range_",
                    "slice": "rt.slice_", "calc": "rt.calc", "count": "rt.count", "round": "rt.round_"}
_ARITH = {"/": "rt.div", "//": "rt.floordiv", "%": "rt.mod", "**": "rt.power"}
_DATE_BUILTINS = {"date": "rt.parse_date", "datetime": "rt.parse_datetime", "year": "rt.year", "month": "rt.month",
                  "day": "rt.day", "weekday": "rt.weekday", "add_months": "rt.add_months"}


def _date_arith(op: str, ka: str, kb: str, a: str, b: str) -> str | None:
    """Date and datetime arithmetic (days and seconds, envdsl/runtime/dates.py), or None for other operands."""
    for kind in ("date", "datetime"):
        if op == "+" and ka == kind:
            return f"rt.{kind}_add({a}, {b})"
        if op == "+" and kb == kind:
            return f"rt.{kind}_add({b}, {a})"
        if op == "-" and ka == kb == kind:
            return f"rt.{kind}_diff({a}, {b})"
        if op == "-" and ka == kind:
            return f"rt.{kind}_sub({a}, {b})"
    return None


def _growing(op: str, t: dict[str, Any]) -> str | None:
    """The runtime check that bounds `a op b` of result type t, if the result can grow without
    limit when computed again and again: strings and lists by +, ints by * (see runtime/budget.py)."""
    k = t.get("k") if isinstance(t, dict) else None
    if op == "+" and k in ("str", "list"):
        return "rt.sized"
    if op == "*" and k == "int":
        return "rt.bounded_int"
    return None


def _grown(op: str, t: dict[str, Any], code: str) -> str:
    grown = _growing(op, t)
    return f"{grown}({code})" if grown else code


class BodyWriter:
    """Writes one function: tracks the Python names of spec locals and temporaries."""

    def __init__(self, fn_names: dict[str, str], const_names: dict[str, str], module_names: Iterable[str] = ()):
        self.fn_names = fn_names
        self.const_names = const_names
        self.scopes: list[dict[str, str]] = [{}]
        # a local never takes the name of a module-level function or constant (it would hide it),
        # nor of the generated locals `db` and `S`
        self.reserved = frozenset({"db", "S", *module_names})
        self.used: set[str] = set(self.reserved)
        self.temp = 0
        self.lines: list[str] = []

    # ---- names
    def bind(self, name: str) -> str:
        base = python_safe(name)
        py = base
        n = 1
        while py in self.used:
            n += 1
            py = f"{base}_{n}"
        self.used.add(py)
        self.scopes[-1][name] = py
        return py

    def comprehension_var(self, name: str, taken: set[str]) -> str:
        """A comprehension variable lives in the comprehension's own Python scope, so it may reuse a
        name another comprehension used, but must not hide a local, function or constant it reads."""
        visible = taken | {v for scope in self.scopes for v in scope.values()}
        py = python_safe(name)
        while py in self.reserved or py in visible:
            py += "_"
        self.scopes[-1][name] = py
        return py

    def name(self, name: str) -> str:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        raise KeyError(name)

    def new_temp(self) -> str:
        self.temp += 1
        return f"_t{self.temp}"

    def emit(self, indent: int, line: str) -> None:
        self.lines.append("    " * indent + line)

    # ---- statements
    def block(self, stmts: list[dict[str, Any]], indent: int) -> None:
        if not stmts:
            self.emit(indent, "pass")
            return
        self.scopes.append({})
        for s in stmts:
            self.stmt(s, indent)
        self.scopes.pop()

    def stmt(self, s: dict[str, Any], ind: int) -> None:
        kind = s["s"]
        if kind == "let":
            value = self.expr(s["value"])
            py = self.bind(s["name"])
            self.emit(ind, f"{py}: {py_type(s.get('type') or s['value']['t'])} = {value}")
        elif kind == "assign":
            self.assign(s, ind)
        elif kind == "if":
            for i, (cond, body) in enumerate(s["branches"]):
                self.emit(ind, f"{'if' if i == 0 else 'elif'} {self.expr(cond)}:")
                self.block(body, ind + 1)
            if s["else"] is not None:
                self.emit(ind, "else:")
                self.block(s["else"], ind + 1)
        elif kind == "for":
            it = self.iterable(s["iter"], s["kind"], s["var2"] is not None)
            if s["snapshot"]:
                it = f"list({it})"  # the body changes data: loop over a copy, so the loop is bounded
            self.scopes.append({})
            v1 = self.bind(s["var"])
            head = v1 if s["var2"] is None else f"{v1}, {self.bind(s['var2'])}"
            self.emit(ind, f"for {head} in rt.steps({it}):")  # each iteration spends the call's step budget
            self.block(s["body"], ind + 1)
            self.scopes.pop()
        elif kind == "require":
            self.emit(ind, f"if {self.negated(s['cond'])}:")
            self.emit(ind + 1, f"raise ToolError({self.expr(s['msg'])})")
        elif kind == "fail":
            self.emit(ind, f"raise ToolError({self.expr(s['msg'])})")
        elif kind == "insert":
            self.emit(ind, f"db.insert({self.expr(s['obj'])}, {self.expr(s['key'])}, {self.expr(s['value'])})")
        elif kind == "delete":
            self.emit(ind, f"db.delete({self.expr(s['obj'])}, {self.expr(s['key'])})")
        elif kind == "unset":  # `delete x.f`: the field becomes absent (already absent: nothing to do)
            t = self.new_temp()
            self.emit(ind, f"{t} = {self.expr(s['obj'])}")
            self.emit(ind, f"if {literal(s['name'])} in {t}:")
            self.emit(ind + 1, f"db.delete({t}, {literal(s['name'])})")
        elif kind == "append":
            self.emit(ind, f"db.append({self.expr(s['obj'])}, {self.expr(s['value'])})")
        elif kind == "remove":
            self.emit(ind, f"db.remove({self.expr(s['obj'])}, {self.expr(s['value'])})")
        elif kind == "return":
            self.emit(ind, f"return {self.expr(s['value'])}")
        elif kind in ("break", "continue"):
            self.emit(ind, kind)
        elif kind == "call":
            self.emit(ind, self.expr(s["call"]))
        else:
            raise ValueError(f"unknown statement {kind}")

    def assign(self, s: dict[str, Any], ind: int) -> None:
        place, op = s["place"], s["op"]
        value = self.expr(s["value"])
        if place["p"] == "local":
            py = self.name(place["name"])
            grown = _grown(op[0], s["value"]["t"], f"{py} {op[0]} {value}")
            self.emit(ind, f"{py} = {value}" if op == "=" else f"{py} = {grown}")
            return
        if place["p"] == "state":
            obj, key = "S", literal(place["name"])
        elif place["p"] == "field":
            obj, key = self.expr(place["obj"]), literal(place["name"])
        else:
            obj, key = self.expr(place["obj"]), self.expr(place["key"])
        if op == "=":
            self.emit(ind, f"db.set({obj}, {key}, {value})")
            return
        if not _IDENT.match(obj):
            t = self.new_temp()
            self.emit(ind, f"{t} = {obj}")
            obj = t
        if not _IDENT.match(key) and not key.startswith("'"):
            t = self.new_temp()
            self.emit(ind, f"{t} = {key}")
            key = t
        self.emit(ind, f"db.set({obj}, {key}, {_grown(op[0], s['value']['t'], f'{obj}[{key}] {op[0]} {value}')})")

    # ---- expressions
    def iterable(self, it: dict[str, Any], kind: str, two: bool) -> str:
        if kind == "zip":
            a, b = (self.expr(x) for x in it["args"])
            return f"zip({a}, {b}, strict=False)"  # stops at the shorter list; explicit for linters (B905)
        code = self.expr(it)
        if kind == "map":
            return f"{code}.items()" if two else f"{code}.values()"
        return f"enumerate({code})" if two else code

    def negated(self, cond: dict[str, Any]) -> str:
        """`not cond`; a membership test is flipped instead (`x not in y`), as linters want (E713)."""
        if cond["e"] == "bin" and cond["op"] in ("in", "not in"):
            flipped = "not in" if cond["op"] == "in" else "in"
            return f"({self.expr(cond['l'])} {flipped} {self.expr(cond['r'])})"
        return f"not {self.expr(cond)}"

    def expr(self, e: dict[str, Any]) -> str:
        k = e["e"]
        if k == "lit":
            return literal(e["v"])
        if k == "local":
            return self.name(e["name"])
        if k == "state":
            return f"S[{literal(e['name'])}]"
        if k == "const":
            return self.const_names[e["name"]]
        if k == "field":
            return f"{self.expr(e['obj'])}[{literal(e['name'])}]"
        if k == "index":
            return f"{self.expr(e['obj'])}[{self.expr(e['key'])}]"
        if k == "fstr":
            parts = []
            for p in e["parts"]:
                if isinstance(p, str):
                    parts.append(literal(p))
                elif p["spec"]:
                    parts.append(f"rt.fmt({self.expr(p['x'])}, {literal(p['spec'])})")
                elif p["x"]["t"]["k"] == "str":
                    parts.append(self.expr(p["x"]))
                else:
                    parts.append(f"str({self.expr(p['x'])})")
            if not parts:
                return "''"
            # rt.sized: a string built from values may grow each time round a loop; bound it
            return parts[0] if len(parts) == 1 else "rt.sized(" + " + ".join(parts) + ")"
        if k == "bin":
            a, b, op = self.expr(e["l"]), self.expr(e["r"]), e["op"]
            dated = _date_arith(op, e["l"]["t"]["k"], e["r"]["t"]["k"], a, b)
            if dated is not None:
                return dated
            if op in _ARITH:
                return f"{_ARITH[op]}({a}, {b})"
            grown = _growing(op, e["t"])
            if grown:
                return f"{grown}({a} {op} {b})"
            if op in ("==", "!=") and "None" in (a, b):  # `x == None` is a lint error; `is` means the same on JSON
                return f"({a} {'is' if op == '==' else 'is not'} {b})"
            return f"({a} {op} {b})"
        if k == "un":
            return f"(not {self.expr(e['x'])})" if e["op"] == "not" else f"(-{self.expr(e['x'])})"
        if k == "has":  # a field that may be absent: present or not (its value may be null)
            return f"({literal(e['name'])} in {self.expr(e['obj'])})"
        if k == "is":
            if e["tag"] is None:  # an untagged union: the variant is known by a field only it has
                return f"({literal(e['value'])} {'not in' if e['neg'] else 'in'} {self.expr(e['x'])})"
            return f"({self.expr(e['x'])}[{literal(e['tag'])}] {'!=' if e['neg'] else '=='} {literal(e['value'])})"
        if k == "cond":
            return f"({self.expr(e['then'])} if {self.expr(e['test'])} else {self.expr(e['else'])})"
        if k == "coalesce":
            return self.coalesce(e)
        if k == "list":
            return "[" + ", ".join(self.expr(x) for x in e["items"]) + "]"
        if k == "map":
            return "{" + ", ".join(f"{self.expr(a)}: {self.expr(b)}" for a, b in e["pairs"]) + "}"
        if k == "record":
            return "{" + ", ".join(f"{literal(n)}: {self.expr(x)}" for n, x in e["fields"]) + "}"
        if k in ("listcomp", "mapcomp"):
            it = self.iterable(e["iter"], e["kind"], e["var2"] is not None)
            self.scopes.append({})
            # comprehension variables live in the comprehension's own Python scope
            v1 = self.comprehension_var(e["var"], set())
            head = v1
            if e["var2"] is not None:
                head = f"{v1}, {self.comprehension_var(e['var2'], {v1})}"
            cond = f" if {self.expr(e['cond'])}" if e["cond"] is not None else ""
            if k == "listcomp":
                out = f"[{self.expr(e['elt'])} for {head} in rt.steps({it}){cond}]"
            else:
                out = f"{{{self.expr(e['key'])}: {self.expr(e['value'])} for {head} in rt.steps({it}){cond}}}"
            self.scopes.pop()
            return out
        if k == "fcall":
            args = ", ".join(["db"] + [self.expr(a) for a in e["args"]])
            return f"{self.fn_names[e['fn']]}({args})"
        if k == "call":
            return self.builtin(e)
        raise ValueError(f"unknown expression {k}")

    def coalesce(self, e: dict[str, Any]) -> str:
        x = e["x"]
        if "fail" in e:
            msg = self.expr(e["fail"])
            if x["e"] == "index":
                return f"rt.lookup({self.expr(x['obj'])}, {self.expr(x['key'])}, {msg})"
            if x["e"] == "field":
                return f"rt.lookup({self.expr(x['obj'])}, {literal(x['name'])}, {msg})"
            return f"rt.nonnull({self.expr(x)}, {msg})"
        default = self.expr(e["default"])
        if x["e"] == "index":
            return f"rt.lookup_or({self.expr(x['obj'])}, {self.expr(x['key'])}, {default})"
        if x["e"] == "field":
            return f"rt.lookup_or({self.expr(x['obj'])}, {literal(x['name'])}, {default})"
        return f"rt.coalesce({self.expr(x)}, {default})"

    def builtin(self, e: dict[str, Any]) -> str:
        fn = e["fn"]
        args = [self.expr(a) for a in e["args"]]
        kw = {k: self.expr(v) for k, v in e.get("kwargs", {}).items()}
        if fn in _SIMPLE_BUILTINS:
            return f"{_SIMPLE_BUILTINS[fn]}({', '.join(args)})"
        if fn == "sorted":
            return f"rt.sorted_({args[0]}, reverse={kw.get('reverse', 'False')})"
        if fn == "sort_by":
            return f"rt.sort_by({args[0]}, {args[1]}, reverse={kw.get('reverse', 'False')})"
        if fn == "reversed":
            return f"list(reversed({args[0]}))"
        if fn == "keys":
            return f"list({args[0]})"
        if fn == "values":
            return f"list({args[0]}.values())"
        if fn in ("lower", "upper", "strip"):
            return f"{args[0]}.{fn}()"
        if fn in ("startswith", "endswith"):
            return f"{args[0]}.{fn}({args[1]})"
        if fn == "replace":
            return f"rt.replace({args[0]}, {args[1]}, {args[2]})"
        if fn == "join":
            return f"rt.join({args[1]}, {args[0]})"
        if fn == "to_json":
            return f"rt.to_json({args[0]}, sort_keys={kw.get('sort_keys', 'False')})"
        if fn == "now":
            return "db.clock"
        if fn in _DATE_BUILTINS:
            return f"{_DATE_BUILTINS[fn]}({', '.join(args)})"
        if fn == "today":
            return "rt.today(db.clock)"
        if fn == "enum_of":  # Status(s): members and name as escaped literals
            return f"rt.to_enum({args[0]}, {literal(e['members'])}, {literal(e['enum'])})"
        if fn == "new_id":
            return f"rt.new_id({args[0]}, {args[1]}, {kw.get('width', '4')})"
        raise ValueError(f"unknown builtin {fn}")
