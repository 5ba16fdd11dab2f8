"""Checker rules for the data shapes real benchmarks use (docs/language.md, "Data shapes").

- A record field declared `name?: T` may be absent: the key is missing, which is not the same as
  present and null (`name: T?`). tau-bench v1's reservations have no `status` key until one is
  cancelled; storing `null` instead would change the data, its JSON and its hash. Reading such a
  field is an error unless the read is tested: inside `if has(x.name) { ... }` (x a local or
  parameter), or with a fallback `x.name ?? default` / `x.name ?? fail "..."`. Writing it
  (`x.name = v`) makes it present; `delete x.name` makes it absent again.
- A collection declared `keyed` (instead of `by FIELD`) is keyed by its map key alone: its records
  hold no key field (tau-bench v1's users: `{"mia_li_3668": {...no user_id...}}`).

The checker calls these functions at a few hooks; the rules live here so that they stay in one place.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envdsl import ir as T
from envdsl.lang import ast as A

if TYPE_CHECKING:
    from envdsl.lang.checker import Checker


def absent_field_ir(c: "Checker", f: A.FieldDecl, entry: dict[str, Any], record: str, tag: str | None) -> None:
    """Mark a record field declared `name?: T` in its IR entry: "absent": true and no default."""
    if not f.absent:
        return
    if f.default is not None or (tag is not None and f.name == tag):
        what = "the union tag" if tag is not None and f.name == tag else "a default"
        c.err("E1102", f"field '{f.name}' of record {record} may be absent, so it cannot have {what}", f.name_span,
              "drop the `?` (the field is always there) or the default (absent until it is set)")
        return
    entry.pop("default", None)  # `name?: T?` is absent until set; it does not default to null
    entry["absent"] = True


def state_field_absent(c: "Checker", e: A.FieldDecl) -> None:
    if e.absent:
        c.err("E1105", f"state field '{e.name}' cannot be absent: the state always has every field", e.name_span,
              f"write `{e.name}: T?` for a field that may be null, or declare `{e.name}?` inside a record")


def may_be_absent(c: "Checker", ot: T.Type, name: str) -> bool:
    """Whether field `name` of a value of type `ot` (a record, or a union any of whose variants) may be absent."""
    base = T.strip_opt(ot)
    if base["k"] == "record":
        recs = [base["name"]]
    elif base["k"] == "union" and base["name"] in c.unions:
        recs = [rec for _, rec, _ in c.unions[base["name"]].variants]
    else:
        return False
    return any(f["name"] == name and f.get("absent") for rec in recs for f in c.record_fields.get(rec, []))


def presence_facts(cond: A.Expr) -> set[tuple[str, str]]:
    """(local, field) pairs that `cond` being true proves present: `has(x.f)`, and tests joined by `and`."""
    if isinstance(cond, A.BinOp) and cond.op == "and":
        return presence_facts(cond.left) | presence_facts(cond.right)
    if isinstance(cond, A.Call) and cond.func == "has" and len(cond.args) == 1 and not cond.kwargs:
        arg = cond.args[0]
        if isinstance(arg, A.Field) and isinstance(arg.obj, A.Name):
            return {(arg.obj.id, arg.name)}
    return set()


def check_absent_read(c: "Checker", e: A.Field, ot: T.Type) -> None:
    """E1101 for `x.f` where f may be absent, unless a fallback or a `has` test covers this read."""
    if id(e) in c.absent_reads_ok or not may_be_absent(c, ot, e.name):
        return
    if isinstance(e.obj, A.Name) and any((e.obj.id, e.name) in facts for facts in c.present_fields):
        return
    where = e.obj.id if isinstance(e.obj, A.Name) else "x"
    c.err("E1101", f"field '{e.name}' may be absent: test it before reading it", e.name_span,
          f"read it inside `if has({where}.{e.name}) {{ ... }}`, or give a fallback: {where}.{e.name} ?? null")


def check_has(c: "Checker", e: A.Call) -> tuple[dict[str, Any], T.Type, bool]:
    """`has(x.f)`: true when the field is present (its value may still be null)."""
    arg = e.args[0] if len(e.args) == 1 and not e.kwargs else None
    if not isinstance(arg, A.Field):
        c.err("E1104", "has() takes one field, such as has(reservation.status)", e.span)
        for a in e.args:
            if isinstance(a, A.Field):  # reported once, as a misuse of has(), not again as a read
                c.absent_reads_ok.add(id(a))
            c.expr(a)
        return {"e": "lit", "v": False}, T.BOOL, False
    obj, ot, _ = c.expr(arg.obj)
    c._field_type(ot, arg.name, arg.name_span)
    if not may_be_absent(c, ot, arg.name) and T.strip_opt(ot)["k"] != "any":
        c.err("E1104", f"field '{arg.name}' is always present: has() tests only fields declared `{arg.name}?: T`",
              arg.name_span)
    return {"e": "has", "obj": obj, "name": arg.name}, T.BOOL, False


def forget(c: "Checker", name: str, field: str | None = None) -> None:
    """A `has` fact no longer holds: x.f was deleted, or the local x was given another value."""
    for facts in c.present_fields:
        facts.difference_update({f for f in facts if f[0] == name and (field is None or f[1] == field)})


def check_delete_field(c: "Checker", target: A.Field, span: Any) -> dict[str, Any]:
    """`delete x.f`: the field becomes absent (f must be declared `f?: T`)."""
    if isinstance(target.obj, A.Name):
        forget(c, target.obj.id, target.name)
    obj, ot, alias = c.expr(target.obj)
    c._field_type(ot, target.name, target.name_span)
    if not may_be_absent(c, ot, target.name) and T.strip_opt(ot)["k"] != "any":
        c.err("E1103", f"field '{target.name}' cannot be deleted: it is not declared `{target.name}?: T`",
              target.name_span, "only a field that may be absent can be removed from its record")
    c._mutation(target.obj, alias, span)
    return {"s": "unset", "obj": obj, "name": target.name}
