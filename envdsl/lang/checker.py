"""The checker: names, types, effects, control flow and termination. AST in, IR out.

It reports every error it can find in one pass and keeps going after each one, using
the `any` type to stop one mistake from causing a cascade of others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from envdsl import ir as T
from envdsl.lang import ast as A
from envdsl.lang import shapes
from envdsl.lang.actor_check import cross_writes
from envdsl.lang.builtins import BUILTINS, BuiltinCtx
from envdsl.lang.conversions import enum_conversion, no_result_return
from envdsl.lang.dates import (
    DATE_ARITH_HINT,
    date_arith_type,
    date_call_literal,
    date_literal_beside,
    date_order_hint,
    exact_problem,
)
from envdsl.lang.diagnostics import DiagnosticBag, Span
from envdsl.lang.regex_safety import backtracking_problem
from envdsl.lang.rules_check import check_rules
from envdsl.lang.unions import untagged_variant_keys

RESERVED = frozenset({"true", "false", "null", "and", "or", "not", "in", "is", "if", "then", "else", "elif",
                      "for", "let", "fail", "require", "return", "insert", "delete", "append", "remove",
                      "break", "continue", "to", "from"})
PRIMS = {"str": T.STR, "int": T.INT, "float": T.FLOAT, "bool": T.BOOL, "date": T.DATE, "datetime": T.DATETIME}


@dataclass
class Var:
    type: T.Type
    aliases_state: bool  # may the value share structure with the state?
    mutable: bool = True
    span: Span | None = None


@dataclass
class FnInfo:
    decl: A.FnDecl
    params: list[dict[str, Any]] = field(default_factory=list)
    returns: T.Type = field(default_factory=lambda: T.ANY)
    writes: bool = False
    calls: set[str] = field(default_factory=set)
    write_spans: list[Span] = field(default_factory=list)
    call_spans: dict[str, list[Span]] = field(default_factory=dict)  # fn name -> where this body calls it


class Checker:
    def __init__(self, module: A.Module, bag: DiagnosticBag):
        self.m = module
        self.file = module.file
        self.bag = bag
        self.enums: dict[str, A.EnumDecl] = {}
        self.records: dict[str, A.RecordDecl] = {}
        self.unions: dict[str, A.UnionDecl] = {}
        self.variant_of: dict[str, tuple[str, str, str]] = {}  # record -> (union, tag field, tag value)
        self.consts: dict[str, tuple[T.Type, Any]] = {}
        self.state: dict[str, dict[str, Any]] = {}
        self.fns: dict[str, FnInfo] = {}
        self.tools: dict[str, FnInfo] = {}
        self.hooks: dict[str, FnInfo] = {}  # `hook` bodies: run after every successful call
        self.record_fields: dict[str, list[dict[str, Any]]] = {}
        # per-body context
        self.scopes: list[dict[str, Var]] = []
        self.current: FnInfo | None = None
        self.loop_depth = 0
        # fn calls used as statements: (fn name, span), checked once effects are known
        self.call_stmts: list[tuple[str, Span]] = []
        # fn calls checked so far: a loop whose body calls a fn may change what it iterates over
        self.fn_calls_seen = 0
        self.statement_call: A.Expr | None = None  # the call a call statement makes: it may have no result
        self.untagged_keys: dict[str, str] = {}  # variant record of an untagged union -> the field only it has
        self.state_sound = False  # set by check(): types and state declared without errors
        # fields that may be absent (lang/shapes.py): reads a fallback covers, and `has` facts per if-branch
        self.absent_reads_ok: set[int] = set()
        self.present_fields: list[set[tuple[str, str]]] = []

    # ---- reporting ------------------------------------------------------------
    def err(self, code: str, msg: str, span: Span, hint: str | None = None) -> None:
        self.bag.error(code, msg, self.file, span, hint)

    # ---- entry ----------------------------------------------------------------
    def check(self) -> dict[str, Any] | None:
        decls = self.m.decls
        domains = [d for d in decls if isinstance(d, A.DomainDecl)]
        if not domains:
            self.err("E0204", "the file declares no domain", Span(1, 1, 1, 2))
        for extra in domains[1:]:
            self.err("E0216", "a file declares exactly one domain", extra.span)
        errors_before = len(self.bag.items)
        self._collect_types(decls)
        self._resolve_records()
        self.untagged_keys = untagged_variant_keys(self)
        self._collect_state(decls)
        # types and state without errors: a seed can be checked even when a tool body has errors
        self.state_sound = bool(domains) and not any(d.severity == "error" for d in self.bag.items[errors_before:])
        self._collect_consts(decls)
        self._collect_signatures(decls)
        functions = [self._check_body(info) for info in self.fns.values()]
        tools = [self._check_body(info) for info in self.tools.values()]
        hooks = [self._check_body(info) for info in self.hooks.values()]
        self._check_recursion_and_effects()
        may_fail = self._fns_that_may_fail(functions)
        for fn_name, span in self.call_stmts:
            # a call statement must do something: change the state, or check something and fail
            if fn_name in self.fns and not self.fns[fn_name].writes and fn_name not in may_fail:
                self.err("E0406", f"calling '{fn_name}' as a statement has no effect: it neither changes the "
                                  "state nor can fail", span)
        invariants = [self._check_invariant(d) for d in decls if isinstance(d, A.InvariantDecl)]
        generator = self._check_generator([d for d in decls if isinstance(d, A.GeneratorDecl)])
        rules = check_rules(self, decls)
        shared = self._check_actors(decls, functions, tools)
        if not self.tools and domains:
            self.err("E0602", "the domain declares no tools", domains[0].span)
        if self.bag.has_errors:
            return None
        policy = [d for d in decls if isinstance(d, A.PolicyDecl)]
        seed = [d for d in decls if isinstance(d, A.SeedDecl)]
        for duplicate in [*policy[1:], *seed[1:]]:
            self.err("E0201", "declared more than once", duplicate.span)
        dom = domains[0]
        for fn_ir, info in zip(functions, self.fns.values()):
            fn_ir["writes"] = info.writes
        for hook_ir, info in zip(hooks, self.hooks.values()):
            hook_ir["writes"] = info.writes
        return {
            "ir_version": T.IR_VERSION,
            "domain": {"name": dom.name, "description": dom.description or ""},
            "policy": {"text": policy[0].text, "file": policy[0].file} if policy else {"text": "", "file": None},
            "seed": seed[0].path if seed else None,
            **self._types_ir(),
            "consts": [{"name": n, "type": t, "value": v} for n, (t, v) in self.consts.items()],
            "state": list(self.state.values()),
            "invariants": invariants,
            "generator": generator,
            "rules": rules,
            "functions": functions,
            "tools": tools,
            "hooks": hooks,
            "shared": shared,
        }

    def _types_ir(self) -> dict[str, Any]:
        """The enums, records and unions of the IR: shared by check() and state_ir()."""
        return {
            "enums": [{"name": e.name, "description": e.description or "", "members": [m for m, _ in e.members]}
                      for e in self.enums.values()],
            "records": [self._record_ir(r) for r in self.records.values()],
            "unions": [{"name": u.name, "tag": u.tag or None, "description": u.description or "",
                        # untagged: `value` is the field whose presence marks the variant
                        "variants": [{"value": v if u.tag else self.untagged_keys.get(r), "record": r}
                                     for v, r, _ in u.variants]}
                       for u in self.unions.values()],
        }

    def state_ir(self) -> dict[str, Any] | None:
        """The types and state part of the IR, with the seed and policy declarations, when those
        declarations checked clean (call after `check`): what checking a seed file needs, so that one
        run reports seed errors together with errors in the tool bodies."""
        if not getattr(self, "state_sound", False):
            return None
        decls = self.m.decls
        policy = next((d for d in decls if isinstance(d, A.PolicyDecl)), None)
        seed = next((d for d in decls if isinstance(d, A.SeedDecl)), None)
        return {
            "policy": {"text": policy.text, "file": policy.file} if policy else {"text": "", "file": None},
            "seed": seed.path if seed else None,
            **self._types_ir(),
            "state": list(self.state.values()),
        }

    # ---- declarations ---------------------------------------------------------
    def _declare_global(self, seen: dict[str, Span], name: str, span: Span) -> bool:
        if name in seen:
            self.err("E0201", f"'{name}' is already declared (line {seen[name].line})", span)
            return False
        if name.startswith("_") or name in RESERVED:
            self.err("E0212", f"'{name}' cannot be used as a name", span)
            return False
        seen[name] = span
        return True

    def _collect_types(self, decls: list[Any]) -> None:
        seen: dict[str, Span] = {n: Span(0, 0, 0, 0) for n in (*PRIMS, "list", "map", "ref", "collection")}
        for d in decls:
            if isinstance(d, A.EnumDecl) and self._declare_global(seen, d.name, d.span):
                self.enums[d.name] = d
                values: set[str] = set()
                for m, sp in d.members:
                    if m in values:
                        self.err("E0201", f"enum member '{m}' appears twice", sp)
                    values.add(m)
            elif isinstance(d, A.RecordDecl) and self._declare_global(seen, d.name, d.span):
                self.records[d.name] = d
            elif isinstance(d, A.UnionDecl) and self._declare_global(seen, d.name, d.span):
                self.unions[d.name] = d
        for u in self.unions.values():
            tags: set[str] = set()
            for value, rec, sp in u.variants:
                if rec not in self.records:
                    self.err("E0214", f"variant '{rec}' of union {u.name} is not a record declared in this file", sp)
                    continue
                if rec in self.variant_of:
                    self.err("E0214", f"record {rec} is already a variant of union {self.variant_of[rec][0]}", sp)
                    continue
                if value in tags:
                    self.err("E0201", f"tag value '{value}' appears twice in union {u.name}", sp)
                tags.add(value)
                self.variant_of[rec] = (u.name, u.tag, value)

    def resolve_type(self, t: A.TypeRef) -> T.Type:
        out = self._resolve_type_inner(t)
        return T.opt(out) if t.optional else out

    def _resolve_type_inner(self, t: A.TypeRef) -> T.Type:
        n, args = t.name, t.args
        if n in PRIMS and not args:
            return PRIMS[n]
        if n == "list" and len(args) == 1:
            return T.list_of(self.resolve_type(args[0]))
        if n == "map" and len(args) == 2:
            k = self.resolve_type(args[0])
            if k["k"] not in ("str", "int", "enum", "any"):
                self.err("E0314", f"map keys must be str, int or an enum, not {T.show(k)}", args[0].span)
            return T.map_of(k, self.resolve_type(args[1]))
        if n == "ref" and len(args) == 1 and not args[0].args:
            coll = args[0].name
            if coll in self.state and self.state[coll]["kind"] == "collection":
                return T.ref(coll, self.state[coll]["key_type"])
            if not self.state:  # state not collected yet (record fields): resolved later in _resolve_refs
                return {"k": "ref", "coll": coll, "key": T.STR, "pending": True}
            self.err("E0313", f"'{coll}' is not a collection declared in `state`", args[0].span)
            return T.ANY
        if not args:
            if n in self.records:
                return T.named("record", n)
            if n in self.enums:
                return T.named("enum", n)
            if n in self.unions:
                return T.named("union", n)
        if n in ("list", "map", "ref"):
            want = {"list": "list<T>", "map": "map<K, V>", "ref": "ref<collection>"}[n]
            self.err("E0203", f"'{n}' takes type arguments: write {want}", t.span)
            return T.ANY
        self.err("E0203", f"unknown type '{n}'", t.span, _did_you_mean(n, [*PRIMS, *self.records, *self.enums,
                                                                              *self.unions]))
        return T.ANY

    def _resolve_records(self) -> None:
        for r in self.records.values():
            fields: list[dict[str, Any]] = []
            names: set[str] = set()
            tag = self.variant_of.get(r.name)
            for f in r.fields:
                if f.name in names:
                    self.err("E0205", f"field '{f.name}' appears twice in record {r.name}", f.name_span)
                    continue
                names.add(f.name)
                ftype = self.resolve_type(f.type)
                entry = self._field_ir(f, ftype)
                shapes.absent_field_ir(self, f, entry, r.name, tag[1] if tag else None)
                if tag and tag[1] and f.name == tag[1]:
                    if ftype != T.STR or f.default is not None:
                        self.err("E0214", f"the tag field '{f.name}' of a union variant must be a plain str",
                                 f.name_span)
                    entry["tag_value"] = tag[2]
                fields.append(entry)
            if tag and tag[1] and tag[1] not in names:  # (an untagged union's variants have no tag field)
                # the tag is implicit: it comes first, as in a discriminated union's JSON
                fields.insert(0, {"name": tag[1], "type": T.STR, "description": "", "constraints": {},
                                  "tag_value": tag[2]})
            self.record_fields[r.name] = fields

    def _record_ir(self, r: A.RecordDecl) -> dict[str, Any]:
        union = self.variant_of.get(r.name)
        return {"name": r.name, "description": r.description or "", "fields": self.record_fields[r.name],
                "union": union[0] if union else None}

    def _field_ir(self, f: A.FieldDecl, ftype: T.Type) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": f.name, "type": ftype, "description": f.description or "",
                                 "constraints": self._constraints(f, ftype)}
        if f.default is not None:
            entry["default"] = self._literal(f.default, ftype, "E0310")
        elif ftype["k"] == "opt":
            entry["default"] = None  # optional fields default to null
        return entry

    def _constraints(self, f: A.FieldDecl, ftype: T.Type) -> dict[str, Any]:
        out: dict[str, Any] = {}
        base = T.strip_opt(ftype)
        for a in f.annotations:
            vals = [self._literal(x, T.ANY, "E0211") for x in a.args]
            numeric = base["k"] in ("int", "float")
            sized = base["k"] in ("str", "list", "map")
            if a.name in ("min", "max") and len(vals) == 1 and numeric and _is_num(vals[0]):
                out[a.name] = vals[0]
            elif a.name == "len" and sized and 1 <= len(vals) <= 2 and all(_is_int(v) and v >= 0 for v in vals):
                out["min_len"] = vals[0] if len(vals) == 2 else 0
                out["max_len"] = vals[-1]
                if out["min_len"] > out["max_len"]:
                    self.err("E0211", "@len(lo, hi) needs lo <= hi", a.span)
            elif a.name == "pattern" and len(vals) == 1 and isinstance(vals[0], str) and base["k"] == "str":
                try:
                    re.compile(vals[0])
                except re.error as e:
                    self.err("E0211", f"@pattern is not a valid regular expression: {e}", a.args[0].span)
                else:
                    slow = backtracking_problem(vals[0])
                    if slow:
                        self.err("E0705", f"@pattern may take exponential time on some inputs: {slow}", a.args[0].span)
                out["pattern"] = vals[0]
            elif a.name in ("one_of", "examples") and vals:
                for x, v in zip(a.args, vals):
                    if not _literal_fits(v, base, self):
                        self.err("E0211", f"@{a.name} value {v!r} is not {_a(base)}", x.span)
                out[a.name] = vals
            else:
                self.err("E0211", f"@{a.name}({', '.join(map(repr, vals))}) does not apply to {_a(ftype)}",
                         a.span)
        return out

    def _collect_state(self, decls: list[Any]) -> None:
        blocks = [d for d in decls if isinstance(d, A.StateDecl) and d.actor == "agent"]
        user_blocks = [d for d in decls if isinstance(d, A.StateDecl) and d.actor == "user"]
        for extra in [*blocks[1:], *user_blocks[1:]]:
            self.err("E0201", "only one state block is allowed" if extra.actor == "agent"
                     else "only one user state block is allowed", extra.span)
        entries = [(e, "agent") for e in (blocks[0].entries if blocks else [])]
        entries += [(e, "user") for e in (user_blocks[0].entries if user_blocks else [])]
        for e, actor in entries:
            if e.name in self.state:
                self.err("E0205", f"state field '{e.name}' appears twice", e.span)
                continue
            if e.name.startswith("_") or e.name in RESERVED:
                self.err("E0212", f"'{e.name}' cannot be used as a name", e.span)
            if isinstance(e, A.CollectionDecl):
                if e.record not in self.records:
                    self.err("E0203", f"unknown record '{e.record}'", e.record_span,
                             _did_you_mean(e.record, list(self.records)))
                    continue
                if not e.key:  # `keyed`: the map key is the only key (lang/shapes.py)
                    self.state[e.name] = {"name": e.name, "kind": "collection", "record": e.record, "key": None,
                                          "key_type": T.STR, "description": e.description or "",
                                          "type": T.map_of(T.STR, T.named("record", e.record))}
                    continue
                kf = next((f for f in self.record_fields[e.record] if f["name"] == e.key), None)
                if kf is None or kf["type"]["k"] not in ("str", "int"):
                    self.err("E0208", f"'{e.key}' is not a str or int field of record {e.record}", e.key_span)
                    continue
                self.state[e.name] = {"name": e.name, "kind": "collection", "record": e.record, "key": e.key,
                                      "key_type": kf["type"], "description": e.description or "",
                                      "type": T.map_of(kf["type"], T.named("record", e.record)), "actor": actor}
            else:
                shapes.state_field_absent(self, e)
                ftype = self.resolve_type(e.type)
                entry = self._field_ir(e, ftype)
                if "default" not in entry:
                    entry["default"] = _zero_value(ftype)
                entry["kind"] = "value"
                entry["actor"] = actor
                self.state[e.name] = entry
        # references inside records were resolved before the state existed
        for fields in self.record_fields.values():
            for f in fields:
                f["type"] = self._resolve_pending(f["type"], f)

    def _resolve_pending(self, t: T.Type, where: dict[str, Any]) -> T.Type:
        if t.get("pending"):
            coll = t["coll"]
            if coll in self.state and self.state[coll]["kind"] == "collection":
                return T.ref(coll, self.state[coll]["key_type"])
            rec = next((r for r in self.records.values() for f in r.fields if f.name == where["name"]), None)
            span = next((f.type.span for f in rec.fields if f.name == where["name"]), Span(1, 1, 1, 2)) if rec \
                else Span(1, 1, 1, 2)
            self.err("E0313", f"'{coll}' is not a collection declared in `state`", span)
            return T.ANY
        if t["k"] in ("list", "opt"):
            return {**t, "of": self._resolve_pending(t["of"], where)}
        if t["k"] == "map":
            return {**t, "val": self._resolve_pending(t["val"], where)}
        return t

    def _collect_consts(self, decls: list[Any]) -> None:
        for d in decls:
            if not isinstance(d, A.ConstDecl):
                continue
            if d.name in self.consts or d.name in self.state:
                self.err("E0201", f"'{d.name}' is already declared", d.span)
                continue
            ctype = self.resolve_type(d.type)
            self.consts[d.name] = (ctype, self._literal(d.value, ctype, "E0309"))

    def _literal(self, e: A.Expr, want: T.Type, code: str) -> Any:
        """A literal's JSON value (constants, defaults, annotation arguments)."""
        if isinstance(e, A.Lit):
            v = e.value
        elif date_call_literal(e) is not None:  # const D: date = date("2024-05-01")
            v = date_call_literal(e)
        elif isinstance(e, A.ListLit):
            inner = T.strip_opt(want)
            return [self._literal(x, inner.get("of", T.ANY), code) for x in e.items]
        elif isinstance(e, A.MapLit):
            inner = T.strip_opt(want)
            out: dict[str, Any] = {}
            for k, v in e.pairs:
                key = self._literal(k, T.STR, code)
                out[str(key)] = self._literal(v, inner.get("val", T.ANY), code)
            return out
        else:
            self.err(code, "expected a literal value (a number, string, true, false, null, [] or {})", e.span)
            return None
        if T.strip_opt(want)["k"] in ("date", "datetime") and v is not None:
            problem = exact_problem(v, T.strip_opt(want)["k"])
            if problem is not None:
                self.err("E0901", problem, e.span)
            return v
        if want["k"] != "any" and not _literal_fits(v, want, self):
            self.err(code if code != "E0211" else "E0301", f"{v!r} is not {_a(want)}", e.span)
        return v

    def _collect_signatures(self, decls: list[Any]) -> None:
        seen: dict[str, Span] = {}
        for d in decls:
            if not isinstance(d, A.FnDecl):
                continue
            if d.name in BUILTINS or d.name in self.records:
                self.err("E0201", f"'{d.name}' is a builtin function or a record name", d.name_span)
                continue
            if not self._declare_global(seen, d.name, d.name_span):
                continue
            info = FnInfo(d)
            pnames: set[str] = set()
            for p in d.params:
                if p.name in pnames:
                    self.err("E0205", f"parameter '{p.name}' appears twice", p.name_span)
                pnames.add(p.name)
                if p.name.startswith("_") or p.name in RESERVED:
                    self.err("E0212", f"'{p.name}' cannot be used as a parameter name", p.name_span)
                ptype = self.resolve_type(p.type)
                entry = self._field_ir(p, ptype)
                info.params.append(entry)
            if isinstance(d, A.HookDecl):
                info.returns = T.NULL  # a hook returns nothing
                self.hooks[d.name] = info
                continue
            info.returns = self.resolve_type(d.returns) if d.returns is not None else T.NONE
            (self.tools if isinstance(d, A.ToolDecl) else self.fns)[d.name] = info

    # ---- bodies ---------------------------------------------------------------
    def _check_body(self, info: FnInfo) -> dict[str, Any]:
        d = info.decl
        self.current = info
        self.scopes = [{}]
        for p in info.params:
            # A parameter may share its name with a state field (a benchmark's tool may take `flights`
            # while the state holds `flights`): the parameter wins, and `state.flights` reaches the state.
            # parameters are fresh JSON values for tools; fn parameters may be state references
            self.scopes[0][p["name"]] = Var(p["type"], aliases_state=not isinstance(d, A.ToolDecl) and not
                                            T.is_scalar(p["type"]), mutable=False)
        body, terminates = self._block(d.body)
        # a hook, or a function with no result, may simply end: the end of its body returns
        if not terminates and not isinstance(d, A.HookDecl) and info.returns["k"] != "none":
            self.err("E0403", f"'{d.name}' can finish without returning {_a(info.returns)}",
                     Span(d.body.span.end_line, max(1, d.body.span.end_column - 1), d.body.span.end_line,
                          d.body.span.end_column))
        out: dict[str, Any] = {"name": d.name, "description": d.description or "", "params": info.params,
                               "returns": info.returns, "body": body, "line": d.span.line}
        if isinstance(d, A.ToolDecl):
            out["effect"] = d.effect
            out["actor"] = d.actor
        if isinstance(d, A.EnvFnDecl):
            out["env"] = True  # callable by the environment (task set-up, assertions), never offered as a tool
        self.current = None
        return out

    def _check_actors(self, decls: list[Any], functions: list[dict[str, Any]],
                      tools: list[dict[str, Any]]) -> list[str]:
        """`shared` names, checked; E1001 for a tool that writes the other actor's state; E1002."""
        shared: list[str] = []
        for d in decls:
            if not isinstance(d, A.SharedDecl):
                continue
            for name, span in d.names:
                if name not in self.state:
                    self.err("E1002", f"'{name}' is not a state field", span,
                             _did_you_mean(name, list(self.state)))
                elif name in shared:
                    self.err("E1002", f"'{name}' is already shared", span)
                else:
                    shared.append(name)
        if self.bag.has_errors:
            return shared
        state_actor = {name: e.get("actor", "agent") for name, e in self.state.items()}
        for tool, actor, root, line in cross_writes(tools, functions, state_actor, set(shared)):
            other = "the user's" if actor == "agent" else "the agent's"
            info = self.tools[tool]
            span = _stmt_span(info.decl.body, line) or info.decl.name_span
            self.err("E1001", f"{actor} tool '{tool}' writes {other} state '{root}'", span,
                     f"let that side's own tools, a hook or the task's set-up change it, or declare `shared {root}` "
                     "if both actors may write it")
        return shared

    def _check_recursion_and_effects(self) -> None:
        # recursion: depth-first search over the call graph of fns
        state: dict[str, int] = {}

        def visit(name: str, stack: list[str]) -> None:
            if state.get(name) == 2:
                return
            if state.get(name) == 1:
                cycle = stack[stack.index(name):] + [name]
                self.err("E0404", "recursive call: " + " -> ".join(cycle), self.fns[name].decl.name_span)
                return
            state[name] = 1
            for callee in sorted(self.fns[name].calls):
                if callee in self.fns:
                    visit(callee, stack + [name])
            state[name] = 2

        for n in self.fns:
            visit(n, [])
        # effects propagate through calls until nothing changes (the graph is small)
        changed = True
        everything = {**self.fns, **self.tools}
        while changed:
            changed = False
            for info in everything.values():
                if not info.writes and any(self.fns[c].writes for c in info.calls if c in self.fns):
                    info.writes = True
                    changed = True
        for info in self.tools.values():
            d = info.decl
            assert isinstance(d, A.ToolDecl)
            if d.effect == "read" and info.writes:
                for sp in info.write_spans:
                    self.err("E0401", f"read tool '{d.name}' changes the state here", sp)
                for callee, sps in sorted(info.call_spans.items()):
                    if callee in self.fns and self.fns[callee].writes:
                        for sp in sps:
                            self.err("E0401", f"read tool '{d.name}' changes the state here, through fn {callee}",
                                     sp)

    def _check_invariant(self, d: A.InvariantDecl) -> dict[str, Any]:
        self.current = FnInfo(A.FnDecl(d.span, "<invariant>", d.span, [], A.TypeRef(d.span, "bool"), None,
                                       A.Block(d.span, [])))
        self.scopes = [{}]
        expr, t, _ = self.expr(d.expr)
        self._want_bool(t, d.expr.span)
        # invariants run on the live state without a journal: a call that writes would change it for good
        for callee in sorted(self.current.calls):
            if callee in self.fns and self.fns[callee].writes:
                self.err("E0407", f"the invariant calls '{callee}', which changes the state", d.expr.span,
                         "invariants may only read the state; move the change into a tool")
        self.current = None
        return {"description": d.description, "expr": expr, "line": d.span.line}

    def _check_generator(self, gens: list[A.GeneratorDecl]) -> dict[str, Any] | None:
        for extra in gens[1:]:
            self.err("E0201", "only one generator block is allowed", extra.span)
        if not gens:
            return None
        counts: dict[str, list[int]] = {}
        for name, lo, hi, sp in gens[0].counts:
            if name not in self.state or self.state[name]["kind"] != "collection":
                self.err("E0606", f"'{name}' is not a collection declared in `state`", sp)
            elif lo > hi or hi > 100_000:
                self.err("E0606", f"count range {lo}..{hi} must have lo <= hi <= 100000", sp)
            else:
                counts[name] = [lo, hi]
        return {"counts": counts}

    # ---- scopes
    def lookup(self, name: str) -> Var | None:
        for scope in reversed(self.scopes):
            if name in scope:
                return scope[name]
        return None

    def declare_local(self, name: str, span: Span, var: Var) -> None:
        if name.startswith("_") or name in RESERVED:
            self.err("E0212", f"'{name}' cannot be used as a variable name", span)
        elif self.lookup(name) is not None:
            self.err("E0213", f"'{name}' is already defined in this function", span)
        elif name in self.state or name in self.consts:
            self.err("E0213", f"'{name}' hides a state field or constant of the same name", span)
        self.scopes[-1][name] = var

    def _fns_that_may_fail(self, functions: list[dict[str, Any]]) -> set[str]:
        """Fns whose body can end in a spec-chosen failure (require, fail, ?? fail), directly or via calls."""
        direct: dict[str, bool] = {}
        calls: dict[str, set[str]] = {}
        for fn in functions:
            text = _json_text(fn["body"])
            direct[fn["name"]] = any(tag in text for tag in ('"s": "require"', '"s": "fail"', '"fail": {'))
            calls[fn["name"]] = self.fns[fn["name"]].calls if fn["name"] in self.fns else set()
        failing = {n for n, d in direct.items() if d}
        changed = True
        while changed:
            changed = False
            for name, callees in calls.items():
                if name not in failing and callees & failing:
                    failing.add(name)
                    changed = True
        return failing

    def _state_path(self, e: A.Expr) -> str | None:
        """`state.NAME`: the state field NAME, named explicitly (when no local is called `state`)."""
        if isinstance(e, A.Field) and isinstance(e.obj, A.Name) and e.obj.id == "state" and \
                self.lookup("state") is None and e.name in self.state:
            return e.name
        return None

    def _narrowed(self, cond: A.Expr) -> dict[str, Var]:
        """The scope an if-branch starts with: a union local tested by `name is Variant` seen as that variant.
        Tests joined by `and` all narrow (`pm is GiftCard and pm.balance < x`)."""
        if isinstance(cond, A.BinOp) and cond.op == "and":
            left, right = self._narrowed(cond.left), self._narrowed(cond.right)
            for name, narrowed in right.items():  # `x != null and x is V`: V wins over non-null
                if name not in left or narrowed.type["k"] == "record":
                    left[name] = narrowed
            return left
        if isinstance(cond, A.BinOp) and cond.op == "!=":  # `x != null` makes an optional local non-null
            named = cond.left if isinstance(cond.right, A.Lit) and cond.right.value is None else \
                cond.right if isinstance(cond.left, A.Lit) and cond.left.value is None else None
            if isinstance(named, A.Name):
                var = self.lookup(named.id)
                if var is not None and var.type["k"] == "opt":
                    return {named.id: Var(var.type["of"], var.aliases_state, False, var.span)}
            return {}
        if not (isinstance(cond, A.IsVariant) and not cond.negated and isinstance(cond.obj, A.Name)):
            return {}
        var = self.lookup(cond.obj.id)
        base = T.strip_opt(var.type) if var is not None else None
        if var is None or base is None or base["k"] != "union" or base["name"] not in self.unions:
            return {}
        rec = next((v[1] for v in self.unions[base["name"]].variants if v[1] == cond.variant), None)
        if rec is None:
            return {}
        return {cond.obj.id: Var(T.named("record", rec), var.aliases_state, False, var.span)}

    def _narrowed_if_false(self, cond: A.Expr) -> dict[str, Var]:
        """The scope where `cond` is known false: `x == null` false makes an optional local non-null;
        tests joined by `or` are all false there (`a == null or b == null or a < b`)."""
        if isinstance(cond, A.BinOp) and cond.op == "or":
            return {**self._narrowed_if_false(cond.left), **self._narrowed_if_false(cond.right)}
        if isinstance(cond, A.BinOp) and cond.op == "==":
            return self._narrowed(A.BinOp(cond.span, "!=", cond.left, cond.right))
        return {}

    def _block(self, block: A.Block, new_scope: bool = True) -> tuple[list[dict[str, Any]], bool]:
        if new_scope:
            self.scopes.append({})
        out: list[dict[str, Any]] = []
        terminated = False
        for st in block.body:
            if terminated:
                self.err("E0402", "this statement can never run", st.span)
                break
            ir_stmt, term = self.stmt(st)
            if ir_stmt is not None:
                ir_stmt["line"] = st.span.line
                out.append(ir_stmt)
            terminated = term
        if new_scope:
            self.scopes.pop()
        return out, terminated

    def _note_write(self, span: Span) -> None:
        assert self.current is not None
        self.current.writes = True
        self.current.write_spans.append(span)

    # ---- statements
    def stmt(self, s: A.Stmt) -> tuple[dict[str, Any] | None, bool]:
        if isinstance(s, A.Let):
            value, vtype, alias = self.expr(s.value)
            if s.type is not None:
                want = self.resolve_type(s.type)
                value = self._coerce(value, vtype, want, s.value)
                vtype = want
            elif _has_unknown(vtype):
                self.err("E0312", f"cannot tell the type of '{s.name}' from {T.show(vtype)}", s.value.span)
            elif vtype["k"] == "null":
                # reported here, not at the first assignment that does not fit the type `null`
                self.err("E0312", f"cannot tell the type of '{s.name}' from null", s.value.span,
                         f"declare the type: let {s.name}: str? = null (or the type it will hold)")
                vtype = T.ANY
            self.declare_local(s.name, s.name_span, Var(vtype, alias and not T.is_scalar(vtype), True, s.name_span))
            if s.type is not None:  # the declared type, which may be wider than the value's (let x: float = 0)
                return {"s": "let", "name": s.name, "value": value, "type": vtype}, False
            return {"s": "let", "name": s.name, "value": value}, False
        if isinstance(s, A.If):
            branches = []
            all_term = True
            for cond, body in s.branches:
                c, ct, _ = self.expr(cond)
                self._want_bool(ct, cond.span)
                # `if x is Variant { ... }` narrows a local x to the variant's record in the branch,
                # so its own fields can be read there
                self.scopes.append(self._narrowed(cond))
                self.present_fields.append(shapes.presence_facts(cond))  # `if has(x.f)`: x.f readable here
                b, term = self._block(body, new_scope=False)
                self.present_fields.pop()
                self.scopes.pop()
                branches.append([c, b])
                all_term = all_term and term
            orelse = None
            if s.orelse is not None:
                orelse, term = self._block(s.orelse)
                all_term = all_term and term
            else:
                all_term = False
            return {"s": "if", "branches": branches, "else": orelse}, all_term
        if isinstance(s, A.For):
            it, kind, t1, t2, alias = self._iterable(s.iter, s.var2 is not None)
            self.scopes.append({})
            spans = s.var_spans or (s.span, s.span)
            self.declare_local(s.var, spans[0], Var(t1, alias and not T.is_scalar(t1), False))
            if s.var2 is not None:
                self.declare_local(s.var2, spans[-1], Var(t2, alias and not T.is_scalar(t2), False))
            self.loop_depth += 1
            writes_before = len(self.current.write_spans) if self.current else 0
            calls_before = self.fn_calls_seen
            loop_body, _ = self._block(s.body, new_scope=False)
            self.loop_depth -= 1
            self.scopes.pop()
            wrote = self.current is not None and len(self.current.write_spans) > writes_before
            mutates = _mutates(loop_body) or wrote \
                or self.fn_calls_seen > calls_before  # whether the fn writes is not known yet: copy to be safe
            return {"s": "for", "var": s.var, "var2": s.var2, "iter": it, "kind": kind, "body": loop_body,
                    "snapshot": mutates}, False
        if isinstance(s, A.Require):
            c, ct, _ = self.expr(s.cond)
            self._want_bool(ct, s.cond.span)
            return {"s": "require", "cond": c, "msg": self._message(s.message)}, False
        if isinstance(s, A.Fail):
            return {"s": "fail", "msg": self._message(s.message)}, True
        if isinstance(s, A.Return):
            assert self.current is not None
            if s.value is None or self.current.returns["k"] == "none":
                return no_result_return(self, s), True
            v, vt, _ = self.expr(s.value)
            v = self._coerce(v, vt, self.current.returns, s.value)
            return {"s": "return", "value": v}, True
        if isinstance(s, (A.Break, A.Continue)):
            word = "break" if isinstance(s, A.Break) else "continue"
            if self.loop_depth == 0:
                self.err("E0405", f"'{word}' is only allowed inside a for loop", s.span)
            return {"s": word}, True
        if isinstance(s, A.Assign):
            return self._assign(s), False
        if isinstance(s, A.Insert):
            obj, key, vt_want = self._map_place(s.target, "insert")
            v, vt, _ = self.expr(s.value)
            v = self._coerce(v, vt, vt_want, s.value)
            return {"s": "insert", "obj": obj, "key": key, "value": v}, False
        if isinstance(s, A.Delete):
            if isinstance(s.target, A.Field) and self._state_path(s.target) is None:  # the field becomes absent
                return shapes.check_delete_field(self, s.target, s.span), False
            obj, key, _ = self._map_place(s.target, "delete")
            return {"s": "delete", "obj": obj, "key": key}, False
        if isinstance(s, (A.Append, A.Remove)):
            word = "append" if isinstance(s, A.Append) else "remove"
            obj, ot, alias = self.expr(s.target)
            elem = T.ANY
            if T.strip_opt(ot)["k"] == "list":
                elem = T.strip_opt(ot)["of"]
            elif ot["k"] != "any":
                self.err("E0302", f"{word} needs a list, not {T.show(ot)}", s.target.span)
            self._mutation(s.target, alias, s.span)
            v, vt, _ = self.expr(s.value)
            v = self._coerce(v, vt, elem, s.value)
            return {"s": word, "obj": obj, "value": v}, False
        if isinstance(s, A.CallStmt):
            if not isinstance(s.call, A.Call):
                called = s.call.id if isinstance(s.call, A.Name) else None
                hint = None
                if called in ("while", "loop", "def", "function", "import", "class", "lambda", "exec", "eval"):
                    hint = "specs cannot import or run code, and loops must be `for x in collection { ... }`"
                self.err("E0107", "this expression is not a statement", s.span, hint)
                return None, False
            self.statement_call = s.call
            c, _, _ = self.expr(s.call)
            if c.get("e") != "fcall":
                self.err("E0406", f"calling '{s.call.func}' as a statement has no effect", s.span)
            else:  # whether a fn writes is known only after every body is checked
                self.call_stmts.append((s.call.func, s.span))
            return {"s": "call", "call": c}, False
        raise AssertionError(f"unhandled statement {type(s).__name__}")

    def _message(self, e: A.Expr) -> dict[str, Any]:
        m, mt, _ = self.expr(e)
        if mt["k"] not in ("str", "any", "enum"):
            self.err("E0311", f"the failure message is {_a(mt)}, not a str", e.span)
        return m

    def _mutation(self, target: A.Expr, alias: bool, span: Span) -> None:
        """Record a state write when the mutated container may belong to the state."""
        if alias or _rooted_in_state(target, self):
            self._note_write(span)

    def _assign(self, s: A.Assign) -> dict[str, Any]:
        tgt = s.target
        value, vt, _ = self.expr(s.value)
        explicit = self._state_path(tgt)
        if explicit is not None:  # `state.counter = ...`: the state field even when a local has its name
            tgt = A.Name(tgt.span, explicit)
        if isinstance(tgt, A.Name):
            var = self.lookup(tgt.id) if explicit is None else None
            if var is not None:
                if not var.mutable:
                    self.err("E0308", f"'{tgt.id}' cannot be reassigned (parameters and loop variables are "
                                      "read-only)", tgt.span)
                place: dict[str, Any] = {"p": "local", "name": tgt.id}
                ptype = var.type
                shapes.forget(self, tgt.id)  # another value: what `has` proved of the old one no longer holds
            elif tgt.id in self.state and self.state[tgt.id]["kind"] == "value":
                place = {"p": "state", "name": tgt.id}
                ptype = self.state[tgt.id]["type"]
                self._note_write(s.span)
            else:
                if tgt.id in self.state:
                    self.err("E0308", "a whole collection cannot be replaced; insert, delete or assign its "
                                      "entries", tgt.span)
                elif tgt.id in self.consts:
                    self.err("E0308", f"'{tgt.id}' is a constant", tgt.span)
                else:
                    self.err("E0202", f"unknown name '{tgt.id}'", tgt.span, "declare it first with let")
                return {"s": "assign", "place": {"p": "local", "name": tgt.id}, "op": s.op, "value": value}
        elif isinstance(tgt, A.Field):
            obj, ot, alias = self.expr(tgt.obj)
            ptype = self._field_type(ot, tgt.name, tgt.name_span)
            place = {"p": "field", "obj": obj, "name": tgt.name}
            self._mutation(tgt.obj, alias, s.span)
        elif isinstance(tgt, A.Index):
            obj, ot, alias = self.expr(tgt.obj)
            key, kt, _ = self.expr(tgt.key)
            ptype, kind = self._index_type(ot, kt, tgt)
            place = {"p": "index", "obj": obj, "key": key, "kind": kind}
            self._mutation(tgt.obj, alias, s.span)
        else:
            self.err("E0308", "cannot assign to this expression", tgt.span)
            return {"s": "assign", "place": {"p": "local", "name": "_"}, "op": s.op, "value": value}
        if s.op != "=" and "opt" in (ptype["k"], vt["k"]):  # `x += y` raises at run time when either is null
            self.err("E0302", f"'{s.op}' is not defined for null, and "
                              f"{'the target' if ptype['k'] == 'opt' else 'the value'} is "
                              f"{_a(ptype if ptype['k'] == 'opt' else vt)}", s.span,
                     "give a fallback (`x = (x ?? 0) + 1`, `x += (y ?? 0)`), or test `!= null` first")
        elif s.op != "=":
            if T.strip_opt(ptype)["k"] not in ("int", "float", "any") and not (s.op == "+=" and
                                                                              ptype["k"] in ("str", "list")):
                self.err("E0302", f"'{s.op}' needs a number, not {T.show(ptype)}", s.span)
            op = s.op[0]
            result = _arith_type(op, ptype, vt)
            if result is None:
                self.err("E0302", f"'{s.op}' is not defined for {T.show(ptype)} and {T.show(vt)}", s.span)
            elif not _assignable(result, ptype, self):
                self.err("E0301", f"the result is {_a(result)}, not {_a(ptype)}", s.value.span)
        else:
            value = self._coerce(value, vt, ptype, s.value)
        return {"s": "assign", "place": place, "op": s.op, "value": value}

    def _map_place(self, target: A.Expr, word: str) -> tuple[dict[str, Any], dict[str, Any], T.Type]:
        if not isinstance(target, A.Index):
            self.err("E0308", f"{word} needs a map entry such as {word} orders[id]", target.span)
            return {"e": "lit", "v": None, "t": T.ANY}, {"e": "lit", "v": None, "t": T.ANY}, T.ANY
        obj, ot, alias = self.expr(target.obj)
        key, kt, _ = self.expr(target.key)
        base = T.strip_opt(ot)
        vt: T.Type = T.ANY
        if base["k"] == "map":
            if not self._map_key_fits(kt, base["key"], target.key):
                self.err("E0301", f"the key is {_a(kt)}, the map's keys are {T.show(base['key'])}",
                         target.key.span)
            vt = base["val"]
        elif base["k"] != "any":
            self.err("E0302", f"{word} needs a map or collection, not {T.show(ot)}", target.obj.span)
        self._mutation(target.obj, alias, target.span)
        return obj, key, vt

    # ---- expressions: return (ir, type, may-alias-state)
    def expr(self, e: A.Expr) -> tuple[dict[str, Any], T.Type, bool]:
        ir_node, t, alias = self._expr(e)
        ir_node["t"] = t
        return ir_node, t, alias and not T.is_scalar(t)

    def _expr(self, e: A.Expr) -> tuple[dict[str, Any], T.Type, bool]:
        if isinstance(e, A.Lit):
            v = e.value
            t = T.NULL if v is None else T.BOOL if isinstance(v, bool) else T.INT if isinstance(v, int) else \
                T.FLOAT if isinstance(v, float) else T.STR
            return {"e": "lit", "v": v}, t, False
        if isinstance(e, A.FStr):
            parts: list[Any] = []
            for p in e.parts:
                if isinstance(p, str):
                    parts.append(p)
                else:
                    x, xt, _ = self.expr(p[0])
                    if p[1] and not _valid_format_spec(p[1], xt):
                        self.err("E0315", f"format spec ':{p[1]}' does not apply to {_a(xt)}", p[0].span)
                    parts.append({"x": x, "spec": p[1]})
            return {"e": "fstr", "parts": parts}, T.STR, False
        if isinstance(e, A.Name):
            var = self.lookup(e.id)
            if var is not None:
                return {"e": "local", "name": e.id}, var.type, var.aliases_state
            if e.id in self.state:
                return {"e": "state", "name": e.id}, self.state[e.id]["type"], True
            if e.id in self.consts:
                ct, cv = self.consts[e.id]
                return {"e": "const", "name": e.id}, ct, False
            if e.id in self.enums:
                self.err("E0202", f"'{e.id}' is an enum type, not a value", e.span,
                         f"write one of its members as a string, such as \"{self.enums[e.id].members[0][0]}\"")
            else:
                names = [n for s in self.scopes for n in s] + list(self.state) + list(self.consts)
                self.err("E0202", f"unknown name '{e.id}'", e.span, _did_you_mean(e.id, names))
            return {"e": "lit", "v": None}, T.ANY, False
        if isinstance(e, A.Field):
            explicit = self._state_path(e)
            if explicit is not None:
                return {"e": "state", "name": explicit}, self.state[explicit]["type"], True
            obj, ot, alias = self.expr(e.obj)
            ft = self._field_type(ot, e.name, e.name_span)
            shapes.check_absent_read(self, e, ot)
            return {"e": "field", "obj": obj, "name": e.name}, ft, alias
        if isinstance(e, A.Index):
            obj, ot, alias = self.expr(e.obj)
            key, kt, _ = self.expr(e.key)
            vt, kind = self._index_type(ot, kt, e)
            return {"e": "index", "obj": obj, "key": key, "kind": kind}, vt, alias
        if isinstance(e, A.Call):
            return self._call(e)
        if isinstance(e, A.BinOp):
            return self._binop(e)
        if isinstance(e, A.UnOp):
            x, xt, _ = self.expr(e.operand)
            if e.op == "not":
                self._want_bool(xt, e.operand.span)
                return {"e": "un", "op": "not", "x": x}, T.BOOL, False
            if xt["k"] == "opt":  # -null raises at run time
                self.err("E0302", f"cannot negate {_a(xt)}: it may be null", e.span,
                         f"give a fallback in parentheses, such as `-({_operand_name(e.operand)} ?? 0)`, "
                         f"or test `{_operand_name(e.operand)} != null` first, which narrows a local")
            elif T.strip_opt(xt)["k"] not in ("int", "float", "any"):
                self.err("E0302", f"cannot negate {_a(xt)}", e.span)
            return {"e": "un", "op": "neg", "x": x}, xt, False
        if isinstance(e, A.IsVariant):
            x, xt, _ = self.expr(e.obj)
            base = T.strip_opt(xt)
            if base["k"] == "any":
                return {"e": "lit", "v": False}, T.BOOL, False
            if base["k"] != "union":
                self.err("E0307", f"'is' needs a value of a union type, not {T.show(xt)}", e.obj.span)
                return {"e": "lit", "v": False}, T.BOOL, False
            u = self.unions[base["name"]]
            match = next((v for v in u.variants if v[1] == e.variant), None)
            if match is None:
                self.err("E0307", f"{e.variant} is not a variant of union {u.name}", e.variant_span,
                         "variants: " + ", ".join(v[1] for v in u.variants))
                return {"e": "lit", "v": False}, T.BOOL, False
            value = match[0] if u.tag else self.untagged_keys.get(match[1])  # untagged: the variant's own field
            return {"e": "is", "x": x, "tag": u.tag or None, "value": value, "neg": e.negated}, T.BOOL, False
        if isinstance(e, A.Cond):
            c, ct, _ = self.expr(e.test)
            self._want_bool(ct, e.test.span)
            a, at, aa = self.expr(e.then)
            b, bt, ba = self.expr(e.orelse)
            joined = _join(at, bt, self)
            if joined is None:
                self.err("E0301", f"the branches have different types: {T.show(at)} and {T.show(bt)}", e.span)
                joined = T.ANY
            return {"e": "cond", "test": c, "then": a, "else": b}, joined, aa or ba
        if isinstance(e, A.Coalesce):
            if isinstance(e.left, A.Field):  # `x.f ?? d` reads a field that may be absent safely
                self.absent_reads_ok.add(id(e.left))
            x, xt, xa = self.expr(e.left)
            if e.fail:
                m = self._message(e.right)
                return {"e": "coalesce", "x": x, "fail": m}, T.strip_opt(xt), xa
            d, dt, da = self.expr(e.right)
            fallback = _join(T.strip_opt(xt), dt, self)
            if T.strip_opt(xt)["k"] == "enum" and isinstance(e.right, A.Lit) and isinstance(e.right.value, str):
                # `status ?? "open"`: a member literal where the enum is wanted is the enum (E0215 if not one)
                self._check_enum_literal(xt, e.right)
                fallback = T.strip_opt(xt)
            if fallback is None:
                self.err("E0301", f"the fallback is {_a(dt)}, the value is {_a(xt)}", e.right.span)
                fallback = T.ANY
            return {"e": "coalesce", "x": x, "default": d}, fallback, xa or da
        if isinstance(e, A.ListLit):
            items = []
            et: T.Type | None = {"k": "unknown"}
            alias = False
            for item in e.items:
                x, xt, xa = self.expr(item)
                items.append(x)
                alias = alias or xa
                j = xt if et == {"k": "unknown"} else _join(et, xt, self)  # type: ignore[arg-type]
                if j is None:
                    self.err("E0301", f"list items have different types: {T.show(et)} and {T.show(xt)}",  # type: ignore[arg-type]
                             item.span)
                    j = T.ANY
                et = j
            return {"e": "list", "items": items}, T.list_of(et), alias  # type: ignore[arg-type]
        if isinstance(e, A.MapLit):
            pairs = []
            kt_: T.Type = {"k": "unknown"}
            vt_: T.Type = {"k": "unknown"}
            alias = False
            for k, v in e.pairs:
                kx, kxt, _ = self.expr(k)
                vx, vxt, va = self.expr(v)
                alias = alias or va
                if kxt["k"] not in ("str", "int", "enum", "ref", "any"):
                    self.err("E0314", f"map keys must be str, int or an enum, not {T.show(kxt)}", k.span)
                kt_ = kxt if kt_["k"] == "unknown" else (_join(kt_, kxt, self) or T.ANY)
                vt_ = vxt if vt_["k"] == "unknown" else (_join(vt_, vxt, self) or T.ANY)
                pairs.append([kx, vx])
            return {"e": "map", "pairs": pairs}, T.map_of(kt_, vt_), alias
        if isinstance(e, (A.ListComp, A.MapComp)):
            clause = e.comp
            it, kind, t1, t2, alias = self._iterable(clause.iter, clause.var2 is not None)
            self.scopes.append({})
            spans = clause.var_spans or (clause.span, clause.span)
            self.declare_local(clause.var, spans[0], Var(t1, alias and not T.is_scalar(t1), False))
            if clause.var2 is not None:
                self.declare_local(clause.var2, spans[-1], Var(t2, alias and not T.is_scalar(t2), False))
            cond = None
            if clause.cond is not None:
                cond, condt, _ = self.expr(clause.cond)
                self._want_bool(condt, clause.cond.span)
            comp = {"var": clause.var, "var2": clause.var2, "iter": it, "kind": kind, "cond": cond}
            if isinstance(e, A.ListComp):
                elt, et2, ea = self.expr(e.elt)
                self.scopes.pop()
                return {"e": "listcomp", "elt": elt, **comp}, T.list_of(et2), ea
            kx2, kt2, _ = self.expr(e.key)
            vx2, vt2, va = self.expr(e.value)
            if kt2["k"] not in ("str", "int", "enum", "ref", "any"):
                self.err("E0314", f"map keys must be str, int or an enum, not {T.show(kt2)}", e.key.span)
            self.scopes.pop()
            return {"e": "mapcomp", "key": kx2, "value": vx2, **comp}, T.map_of(kt2, vt2), va
        raise AssertionError(f"unhandled expression {type(e).__name__}")

    def _iterable(self, e: A.Expr, two: bool) -> tuple[dict[str, Any], str, T.Type, T.Type, bool]:
        """A loop's iterable: (ir, kind, first var type, second var type, aliases state)."""
        if isinstance(e, A.Call) and e.func == "zip":
            if len(e.args) != 2 or e.kwargs or not two:
                self.err("E0210", "zip takes two lists and needs two loop variables: for a, b in zip(xs, ys)",
                         e.span)
            xs = [self.expr(a) for a in e.args[:2]]
            ts = [T.strip_opt(t)["of"] if T.strip_opt(t)["k"] == "list" else T.ANY for _, t, _ in xs]
            for (_, t, _), a in zip(xs, e.args):
                if T.strip_opt(t)["k"] not in ("list", "any"):
                    self.err("E0304", f"zip needs lists, not {T.show(t)}", a.span)
            while len(ts) < 2:
                ts.append(T.ANY)
            node = {"e": "zip", "args": [x for x, _, _ in xs], "t": T.ANY}
            return node, "zip", ts[0], ts[1], any(a for _, _, a in xs)
        x, xt, alias = self.expr(e)
        base = T.strip_opt(xt)
        if base["k"] == "list":
            return x, "list", (T.INT if two else base["of"]), base["of"], alias
        if base["k"] == "map":
            return x, "map", (base["key"] if two else base["val"]), base["val"], alias
        if base["k"] == "str" and not two:
            return x, "list", T.STR, T.ANY, False
        if base["k"] != "any":
            self.err("E0304", f"cannot loop over {_a(xt)}", e.span)
        return x, "list", T.ANY, T.ANY, alias

    def _field_type(self, ot: T.Type, name: str, span: Span) -> T.Type:
        base = T.strip_opt(ot)
        if base["k"] == "any":
            return T.ANY
        if base["k"] == "record":
            if base["name"] not in self.record_fields:  # a union variant naming a missing record: reported (E0214)
                return T.ANY
            f = next((f for f in self.record_fields[base["name"]] if f["name"] == name), None)
            if f is None:
                self.err("E0306", f"record {base['name']} has no field '{name}'", span,
                         _did_you_mean(name, [f["name"] for f in self.record_fields[base["name"]]]))
                return T.ANY
            return f["type"]  # type: ignore[no-any-return]
        if base["k"] == "union":
            u = self.unions[base["name"]]
            common = None
            for _, rec, _ in u.variants:
                f = next((f for f in self.record_fields.get(rec, []) if f["name"] == name), None)
                if f is None:
                    having = [r for _, r, _ in u.variants
                              if any(g["name"] == name for g in self.record_fields.get(r, []))]
                    self.err("E0306", f"not every variant of {u.name} has a field '{name}' ({rec} has not)", span,
                             f"test the variant first: if x is {having[0]} {{ ... }}" if having else None)
                    return T.ANY
                common = f["type"] if common is None else (_join(common, f["type"], self) or T.ANY)
            return common or T.ANY
        self.err("E0306", f"{_a(ot)} has no fields", span)
        return T.ANY

    def _map_key_fits(self, kt: T.Type, key_type: T.Type, key: A.Expr) -> bool:
        """A key fits a map's key type; `counts["open"]` takes a member literal as the enum (E0215 if not
        one), as a literal is taken wherever an enum is wanted."""
        if key_type["k"] == "enum" and isinstance(key, A.Lit) and isinstance(key.value, str):
            self._check_enum_literal(key_type, key)
            return True
        return _assignable(kt, key_type, self)

    def _index_type(self, ot: T.Type, kt: T.Type, e: A.Index) -> tuple[T.Type, str]:
        base = T.strip_opt(ot)
        if base["k"] == "any":
            return T.ANY, "map"
        if base["k"] == "list":
            if kt["k"] not in ("int", "any"):
                self.err("E0301", f"list indexes are int, not {T.show(kt)}", e.key.span)
            return base["of"], "list"
        if base["k"] == "map":
            if not self._map_key_fits(kt, base["key"], e.key):
                self.err("E0301", f"the key is {_a(kt)}, the map's keys are {T.show(base['key'])}", e.key.span)
            return base["val"], "map"
        self.err("E0305", f"{_a(ot)} cannot be indexed", e.obj.span)
        return T.ANY, "map"

    def _call(self, e: A.Call) -> tuple[dict[str, Any], T.Type, bool]:
        name = e.func
        if name in self.records:
            return self._construct(e)
        if name in self.enums:  # Status(s): a str to a member, failing like a lookup
            return enum_conversion(self, e)
        if name in self.fns or name in self.tools:
            if name in self.tools:
                self.err("E0209", f"'{name}' is a tool; tools cannot call tools", e.func_span,
                         "move the shared logic into a fn")
                return {"e": "lit", "v": None}, T.ANY, False
            info = self.fns[name]
            assert self.current is not None
            self.current.calls.add(name)
            self.fn_calls_seen += 1
            self.current.call_spans.setdefault(name, []).append(e.span)
            args = self._bind_args(e, info.params, f"fn {name}")
            if info.returns["k"] == "none" and self.statement_call is not e:
                self.err("E0905", f"fn {name} has no result, so its call is not a value", e.span,
                         f"call it as a statement of its own: {name}(...)")
            return {"e": "fcall", "fn": name, "args": args}, info.returns, not T.is_scalar(info.returns)
        if name == "has":  # the presence test of a field that may be absent (lang/shapes.py)
            return shapes.check_has(self, e)
        spec = BUILTINS.get(name)
        if spec is None:
            self.err("E0209", f"unknown function '{name}'", e.func_span,
                     _did_you_mean(name, [*BUILTINS, *self.fns, *self.records]))
            for a in e.args:
                self.expr(a)
            return {"e": "lit", "v": None}, T.ANY, False
        checked = [self.expr(a) for a in e.args]
        kwargs = {k: (self.expr(v), sp) for k, v, sp in e.kwargs}
        ctx = BuiltinCtx(self, e, checked, kwargs)
        result = spec(ctx)
        node = {"e": "call", "fn": name, "args": [a[0] for a in checked],
                "kwargs": {k: v[0][0] for k, v in kwargs.items()}}
        node.update(ctx.extra)
        return node, result, ctx.aliases

    def _bind_args(self, e: A.Call, params: list[dict[str, Any]], what: str) -> list[dict[str, Any]]:
        if len(e.args) > len(params):
            self.err("E0210", f"{what} takes {len(params)} argument(s), got {len(e.args)}", e.span)
        bound: dict[str, dict[str, Any]] = {}
        for p, a in zip(params, e.args):
            x, xt, _ = self.expr(a)
            bound[p["name"]] = self._coerce(x, xt, p["type"], a)
        for k, v, sp in e.kwargs:
            param = next((q for q in params if q["name"] == k), None)
            if param is None:
                self.err("E0206", f"{what} has no parameter '{k}'", sp)
                self.expr(v)
                continue
            if k in bound:
                self.err("E0205", f"parameter '{k}' is given twice", sp)
            x, xt, _ = self.expr(v)
            bound[k] = self._coerce(x, xt, param["type"], v)
        out = []
        for p in params:
            if p["name"] in bound:
                out.append(bound[p["name"]])
            elif "default" in p:
                out.append({"e": "lit", "v": p["default"], "t": p["type"]})
            else:
                self.err("E0210", f"{what} needs a value for parameter '{p['name']}'", e.span)
                out.append({"e": "lit", "v": None, "t": T.ANY})
        return out

    def _construct(self, e: A.Call) -> tuple[dict[str, Any], T.Type, bool]:
        rec = e.func
        fields = self.record_fields[rec]
        if e.args:
            self.err("E0210", f"give the fields of {rec} by name, such as {rec}({fields[0]['name'] if fields else 'x'}"
                              f"=...)", e.span)
        given: dict[str, Any] = {}
        alias = False
        for k, v, sp in e.kwargs:
            f = next((f for f in fields if f["name"] == k), None)
            if f is None or "tag_value" in f:
                self.err("E0206", f"record {rec} has no field '{k}'" if f is None else
                         f"'{k}' is the union tag of {rec}; it is set for you", sp,
                         _did_you_mean(k, [f["name"] for f in fields]) if f is None else None)
                self.expr(v)
                continue
            if k in given:
                self.err("E0205", f"field '{k}' is given twice", sp)
            x, xt, xa = self.expr(v)
            alias = alias or xa
            given[k] = self._coerce(x, xt, f["type"], v)
        out = []
        for f in fields:
            if "tag_value" in f:
                out.append([f["name"], {"e": "lit", "v": f["tag_value"], "t": T.STR}])
            elif f["name"] in given:
                out.append([f["name"], given[f["name"]]])
            elif "default" in f:
                out.append([f["name"], {"e": "lit", "v": f["default"], "t": f["type"]}])
            elif f.get("absent"):
                continue  # not given: absent
            else:
                self.err("E0207", f"{rec}(...) is missing field '{f['name']}'", e.span)
        return {"e": "record", "name": rec, "fields": out}, T.named("record", rec), alias

    def _binop(self, e: A.BinOp) -> tuple[dict[str, Any], T.Type, bool]:
        a, at, _ = self.expr(e.left)
        if e.op == "and":  # the right operand runs only when the left held: narrow `x is V` there
            self.scopes.append(self._narrowed(e.left))
            self.present_fields.append(shapes.presence_facts(e.left))  # `has(x.f) and x.f == v`
            b, bt, _ = self.expr(e.right)
            self.present_fields.pop()
            self.scopes.pop()
        elif e.op == "or":  # ... and only when the left failed: `x == null or x > 3` sees x non-null there
            self.scopes.append(self._narrowed_if_false(e.left))
            b, bt, _ = self.expr(e.right)
            self.scopes.pop()
        else:
            b, bt, _ = self.expr(e.right)
        op = e.op
        node = {"e": "bin", "op": op, "l": a, "r": b}
        if op in ("and", "or"):
            self._want_bool(at, e.left.span)
            self._want_bool(bt, e.right.span)
            return node, T.BOOL, False
        if op in ("==", "!="):
            self._check_enum_literal(at, e.right)
            self._check_enum_literal(bt, e.left)
            date_literal_beside(self, at, e.right)  # `due == "2024-02-30"` could never hold: E0901
            date_literal_beside(self, bt, e.left)
            if _join(at, bt, self) is None and not (at["k"] == "null" or bt["k"] == "null"):
                self.err("E0302", f"comparing {_a(at)} with {_a(bt)} is always "
                                  f"{'false' if op == '==' else 'true'}", e.span)
            return node, T.BOOL, False
        if op not in ("in", "not in") and self._optional_operand(op, e, at, bt):
            return node, T.BOOL if op in ("<", "<=", ">", ">=") else T.ANY, False
        if op in ("<", "<=", ">", ">="):
            ka, kb = _order_kind(at), _order_kind(bt)
            # a date beside a str literal of its form: `due < "2024-03-01"` orders like the dates (E0901 if not one)
            if date_literal_beside(self, at, e.right) or date_literal_beside(self, bt, e.left):
                return node, T.BOOL, False
            if ka != kb and {ka, kb} & {"date", "datetime"} and "any" not in (ka, kb):
                self.err("E0903", f"cannot order {_a(at)} and {_a(bt)}", e.span, date_order_hint(at, bt))
            elif ka is None or kb is None or (ka != kb and "any" not in (ka, kb)):
                self.err("E0302", f"cannot order {_a(at)} and {_a(bt)}", e.span)
            return node, T.BOOL, False
        if op in ("in", "not in"):
            if self._optional_operand(op, e, T.ANY, bt):  # `x in null` raises at run time
                return node, T.BOOL, False
            cb = T.strip_opt(bt)
            if cb["k"] == "list":
                self._check_enum_literal(cb["of"], e.left)
                ok = _join(at, cb["of"], self) is not None
            elif cb["k"] == "map":
                ok = _join(at, cb["key"], self) is not None
                node["op"] = op  # membership of keys
            elif cb["k"] == "str":
                ok = T.strip_opt(at)["k"] in ("str", "enum", "ref", "any")
                if ok and self._optional_operand(op, e, at, T.STR):  # `null in "abc"` raises at run time
                    return node, T.BOOL, False
            else:
                ok = cb["k"] == "any"
            if not ok:
                self.err("E0302", f"cannot test {_a(at)} for membership in {_a(bt)}", e.span)
            return node, T.BOOL, False
        result = _arith_type(op, at, bt)
        if result is None and {T.strip_opt(at)["k"], T.strip_opt(bt)["k"]} & {"date", "datetime"}:
            self.err("E0902", f"'{op}' is not defined for {T.show(at)} and {T.show(bt)}", e.span, DATE_ARITH_HINT)
            result = T.ANY
        elif result is None:
            self.err("E0302", f"'{op}' is not defined for {T.show(at)} and {T.show(bt)}", e.span)
            result = T.ANY
        elif op == "**" and result["k"] == "int" and not _nonnegative_int_constant(e.right):
            result = T.FLOAT  # 2 ** -1 is 0.5: an int power is an int only for a constant exponent >= 0
        return node, result, False

    def _optional_operand(self, op: str, e: A.BinOp, at: T.Type, bt: T.Type) -> bool:
        """Arithmetic, ordering and membership raise a TypeError at run time on null, so an optional
        operand is an error (E0302) unless narrowed first. `??` binds looser than these operators:
        `0 + limit ?? 5` is `(0 + limit) ?? 5`, which the hint spells out."""
        side = e.left if at["k"] == "opt" else e.right if bt["k"] == "opt" else None
        if side is None:
            return False
        t = at if side is e.left else bt
        self.err("E0302", f"'{op}' is not defined for null, and this operand is {_a(t)}", side.span,
                 f"give a fallback in parentheses, such as `({_operand_name(side)} ?? {_zero(t)})` (`??` binds looser "
                 f"than '{op}'), or test `{_operand_name(side)} != null` first, which narrows a local")
        return True

    def _check_enum_literal(self, t: T.Type, other: A.Expr) -> None:
        base = T.strip_opt(t)
        if base["k"] == "enum" and isinstance(other, A.Lit) and isinstance(other.value, str):
            members = [m for m, _ in self.enums[base["name"]].members]
            if other.value not in members:
                self.err("E0215", f"'{other.value}' is not a member of enum {base['name']}", other.span,
                         "members: " + ", ".join(repr(m) for m in members))

    def _want_bool(self, t: T.Type, span: Span) -> None:
        if t["k"] not in ("bool", "any"):
            self.err("E0303", f"expected a bool, got {_a(t)}", span,
                     "compare explicitly, such as len(xs) > 0 or x != null")

    def _coerce(self, x: dict[str, Any], xt: T.Type, want: T.Type, src: A.Expr) -> dict[str, Any]:
        if want["k"] == "any" or xt["k"] == "any":
            return x
        base = T.strip_opt(want)
        if base["k"] in ("date", "datetime") and isinstance(src, A.Lit) and isinstance(src.value, str):
            problem = exact_problem(src.value, base["k"])  # a literal where a date goes: checked as one
            if problem is not None:
                self.err("E0901", problem, src.span, f"write {base['k']}(\"...\") in the form of the examples")
            return x
        if base["k"] == "enum" and isinstance(src, A.Lit) and isinstance(src.value, str):
            self._check_enum_literal(want, src)
            return x
        if base["k"] == "enum" and isinstance(src, A.Cond) and xt["k"] in ("str", "enum"):
            # `if c then "open" else "frozen"`: each branch is checked as a member
            self._coerce(x["then"], x["then"]["t"], want, src.then)
            self._coerce(x["else"], x["else"]["t"], want, src.orelse)
            return x
        if not _assignable(xt, want, self):
            self.err("E0301", f"expected {_a(want)}, got {_a(xt)}", src.span,
                     _coerce_hint(xt, want))
        return x


# ---- type relations ---------------------------------------------------------------
def _assignable(src: T.Type, dst: T.Type, c: Checker) -> bool:
    ks, kd = src["k"], dst["k"]
    if ks in ("any", "unknown") or kd == "any":
        return True
    if src == dst:
        return True
    if kd == "opt":
        return ks == "null" or _assignable(T.strip_opt(src), dst["of"], c) and ks != "opt" or \
            (ks == "opt" and _assignable(src["of"], dst["of"], c))
    if ks == "int" and kd == "float":
        return True
    if ks == "ref" and kd == "ref":
        return bool(src["coll"] == dst["coll"])
    if ks == "ref":
        return _assignable(src["key"], dst, c)
    if kd == "ref":
        return _assignable(src, dst["key"], c)
    if ks == "enum" and kd == "str":
        return True
    if ks in ("date", "datetime") and kd == "str":  # a date is its ISO text
        return True
    if ks == "enum" and kd == "enum":
        return bool(src["name"] == dst["name"])
    if ks == "record" and kd == "union":
        return c.variant_of.get(src["name"], ("",))[0] == dst["name"]
    if ks == "list" and kd == "list":
        return _assignable(src["of"], dst["of"], c)
    if ks == "map" and kd == "map":
        return _assignable(src["key"], dst["key"], c) and _assignable(src["val"], dst["val"], c)
    return False


def _join(a: T.Type, b: T.Type, c: Checker) -> T.Type | None:
    """The smallest type both a and b fit, or None."""
    if a["k"] in ("any", "unknown"):
        return b
    if b["k"] in ("any", "unknown"):
        return a
    if _assignable(a, b, c):
        return b
    if _assignable(b, a, c):
        return a
    if a["k"] == "null":
        return T.opt(b)
    if b["k"] == "null":
        return T.opt(a)
    if a["k"] == "opt" or b["k"] == "opt":
        j = _join(T.strip_opt(a), T.strip_opt(b), c)
        return T.opt(j) if j else None
    if a["k"] == "record" and b["k"] == "record":
        ua, ub = c.variant_of.get(a["name"]), c.variant_of.get(b["name"])
        if ua and ub and ua[0] == ub[0]:
            return T.named("union", ua[0])
    if {a["k"], b["k"]} <= {"str", "enum", "ref"}:
        return T.STR
    if a["k"] == "list" and b["k"] == "list":
        j = _join(a["of"], b["of"], c)
        return T.list_of(j) if j else None
    return None


def _zero(t: T.Type) -> str:
    """A fallback of the optional's type for a hint: 0, "", [] (else `...`)."""
    return {"int": "0", "float": "0.0", "str": '""', "list": "[]"}.get(T.strip_opt(t)["k"], "...")


def _operand_name(e: A.Expr) -> str:
    """The operand as the hint names it: a plain name as written, anything else as `x`."""
    return e.id if isinstance(e, A.Name) else "x"


def _nonnegative_int_constant(e: A.Expr) -> bool:
    if isinstance(e, A.Lit):
        return isinstance(e.value, int) and not isinstance(e.value, bool) and e.value >= 0
    return isinstance(e, A.BinOp) and e.op in ("+", "*", "**") and _nonnegative_int_constant(e.left) \
        and _nonnegative_int_constant(e.right)


def _arith_type(op: str, a: T.Type, b: T.Type) -> T.Type | None:
    ka, kb = T.strip_opt(a)["k"], T.strip_opt(b)["k"]
    if "any" in (ka, kb):
        return T.ANY
    nums = ("int", "float")
    if "date" in (ka, kb) or "datetime" in (ka, kb):
        return date_arith_type(op, ka, kb)
    if op == "+" and ka in ("str", "enum", "ref") and kb in ("str", "enum", "ref"):
        return T.STR
    if op == "+" and ka == "list" and kb == "list":
        return a
    if ka not in nums or kb not in nums:
        return None
    if op == "/":
        return T.FLOAT
    return T.INT if ka == kb == "int" else T.FLOAT


def _order_kind(t: T.Type) -> str | None:
    k = T.strip_opt(t)["k"]
    if k in ("int", "float"):
        return "num"
    if k in ("str", "enum", "ref"):
        return "str"
    if k in ("any", "date", "datetime"):
        return k
    return None


_FORMAT_SPEC = re.compile(r"^(?:[<>^=]?)[+\- ]?(?:0)?(?:\d{1,3})?[,_]?(?:\.\d{1,2})?([dfeEgGs%xX]?)$")


def _valid_format_spec(spec: str, t: T.Type) -> bool:
    m = _FORMAT_SPEC.match(spec)
    if not m:
        return False
    kind = T.strip_opt(t)["k"]
    letter = m.group(1)
    if kind in ("int",):
        return letter in ("", "d", "f", "e", "E", "g", "G", "%", "x", "X") and (letter != "" or "." not in spec)
    if kind == "float":
        return letter in ("", "f", "e", "E", "g", "G", "%")
    if kind in ("str", "enum", "ref", "date", "datetime"):
        return letter in ("", "s") and "," not in spec and "." not in spec
    return kind == "any"


def _literal_fits(v: Any, t: T.Type, c: Checker) -> bool:
    k = t["k"]
    if k == "any":
        return True
    if v is None:
        return k in ("opt", "null")
    if k == "opt":
        return _literal_fits(v, t["of"], c)
    if k == "bool":
        return isinstance(v, bool)
    if k == "int":
        return isinstance(v, int) and not isinstance(v, bool)
    if k == "float":
        return isinstance(v, (int, float)) and not isinstance(v, bool)
    if k in ("str", "ref"):
        return isinstance(v, str) if k == "str" or t["key"]["k"] == "str" else isinstance(v, int)
    if k == "enum":
        return isinstance(v, str) and v in [m for m, _ in c.enums[t["name"]].members]
    if k in ("date", "datetime"):
        return exact_problem(v, k) is None
    if k == "list":
        return isinstance(v, list) and all(_literal_fits(x, t["of"], c) for x in v)
    if k == "map":
        return isinstance(v, dict) and all(_literal_fits(x, t["val"], c) for x in v.values())
    return False


def _zero_value(t: T.Type) -> Any:
    return {"str": "", "int": 0, "float": 0.0, "bool": False, "list": [], "map": {}}.get(t["k"])


def _has_unknown(t: T.Type) -> bool:
    if t["k"] == "unknown":
        return True
    return any(_has_unknown(t[k]) for k in ("of", "key", "val") if k in t)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _mutates(body: list[dict[str, Any]]) -> bool:
    for s in body:
        if s["s"] in ("assign", "insert", "delete", "unset", "append", "remove", "call"):
            if s["s"] != "assign" or s["place"]["p"] != "local":
                return True
        for sub in (s.get("body") or [], *(b for _, b in s.get("branches") or []), s.get("else") or []):
            if _mutates(sub):
                return True
    return False


def _rooted_in_state(e: A.Expr, c: Checker) -> bool:
    while isinstance(e, (A.Field, A.Index)):
        if c._state_path(e) is not None:
            return True
        e = e.obj
    return isinstance(e, A.Name) and c.lookup(e.id) is None and e.id in c.state


def _stmt_span(block: A.Block, line: int) -> Span | None:
    """The span of the first statement of `block` (at any depth) that starts on `line`."""
    for st in block.body:
        if st.span.line == line:
            return st.span
        for sub in vars(st).values():
            subs = sub if isinstance(sub, list) else [sub]
            for b in subs:
                found = None
                if isinstance(b, A.Block):
                    found = _stmt_span(b, line)
                elif isinstance(b, tuple):  # if-branches: (cond, block)
                    found = next((_stmt_span(x, line) for x in b if isinstance(x, A.Block)), None)
                if found is not None:
                    return found
    return None


def _json_text(value: Any) -> str:
    import json

    return json.dumps(value, sort_keys=True)


def _coerce_hint(src: T.Type, dst: T.Type) -> str | None:
    ks, kd = src["k"], T.strip_opt(dst)["k"]
    if ks == "float" and kd == "int":
        return "use round(x) or int(x) to get an int"
    if ks in ("int", "float") and kd == "str":
        return "use str(x) or an f-string to get a str"
    if ks == "str" and kd == "enum":
        return "only a literal member of the enum, or a value already of the enum type, can be stored there"
    if ks == "opt":
        return "the value may be null: give a fallback with ?? or check it first"
    return None


def _a(t: T.Type) -> str:
    """A type with its article, for messages: 'an int', 'a str', 'an Order'."""
    shown = T.show(t)
    return f"{'an' if shown[:1] in tuple('aeiouAEIOU') else 'a'} {shown}"


def _did_you_mean(name: str, candidates: list[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, sorted(set(candidates)), n=1, cutoff=0.7)
    return f"did you mean '{close[0]}'?" if close else None


def check_module(module: A.Module, bag: DiagnosticBag) -> dict[str, Any] | None:
    return Checker(module, bag).check()
