"""The abstract syntax tree of a spec: plain dataclasses, every node with its source span."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from envdsl.lang.diagnostics import Span


@dataclass
class Node:
    span: Span


# ---- types -------------------------------------------------------------------
@dataclass
class TypeRef(Node):
    name: str
    args: list["TypeRef"] = field(default_factory=list)
    optional: bool = False


# ---- expressions -------------------------------------------------------------
@dataclass
class Lit(Node):
    value: object  # str | int | float | bool | None


@dataclass
class FStr(Node):
    # literal text and (expression, format spec) parts, in order
    parts: list[Union[str, tuple["Expr", str]]]


@dataclass
class Name(Node):
    id: str


@dataclass
class Field(Node):
    obj: "Expr"
    name: str
    name_span: Span


@dataclass
class Index(Node):
    obj: "Expr"
    key: "Expr"


@dataclass
class Call(Node):
    func: str
    func_span: Span
    args: list["Expr"]
    kwargs: list[tuple[str, "Expr", Span]]


@dataclass
class BinOp(Node):
    op: str  # + - * / // % ** == != < <= > >= in notin and or
    left: "Expr"
    right: "Expr"


@dataclass
class UnOp(Node):
    op: str  # neg not
    operand: "Expr"


@dataclass
class IsVariant(Node):
    obj: "Expr"
    variant: str
    variant_span: Span
    negated: bool


@dataclass
class Cond(Node):
    test: "Expr"
    then: "Expr"
    orelse: "Expr"


@dataclass
class Coalesce(Node):
    """`left ?? right` or `left ?? fail message`: a missing key, index or null falls back."""

    left: "Expr"
    right: "Expr"
    fail: bool


@dataclass
class ListLit(Node):
    items: list["Expr"]


@dataclass
class MapLit(Node):
    pairs: list[tuple["Expr", "Expr"]]


@dataclass
class CompFor(Node):
    var: str
    var2: str | None
    iter: "Expr"
    cond: "Expr | None"
    var_spans: tuple[Span, ...] = ()  # where each loop variable is named, for diagnostics


@dataclass
class ListComp(Node):
    elt: "Expr"
    comp: CompFor


@dataclass
class MapComp(Node):
    key: "Expr"
    value: "Expr"
    comp: CompFor


Expr = Union[Lit, FStr, Name, Field, Index, Call, BinOp, UnOp, IsVariant, Cond, Coalesce, ListLit, MapLit,
             ListComp, MapComp]


# ---- statements --------------------------------------------------------------
@dataclass
class Let(Node):
    name: str
    name_span: Span
    type: TypeRef | None
    value: Expr


@dataclass
class If(Node):
    branches: list[tuple[Expr, "Block"]]  # if and elifs
    orelse: "Block | None"


@dataclass
class For(Node):
    var: str
    var2: str | None
    iter: Expr
    body: "Block"
    var_spans: tuple[Span, ...] = ()  # where each loop variable is named, for diagnostics


@dataclass
class Require(Node):
    cond: Expr
    message: Expr


@dataclass
class Fail(Node):
    message: Expr


@dataclass
class Insert(Node):
    target: Expr
    value: Expr


@dataclass
class Delete(Node):
    target: Expr


@dataclass
class Append(Node):
    value: Expr
    target: Expr


@dataclass
class Remove(Node):
    value: Expr
    target: Expr


@dataclass
class Return(Node):
    value: Expr | None  # None: a bare `return` in a function with no result


@dataclass
class Break(Node):
    pass


@dataclass
class Continue(Node):
    pass


@dataclass
class Assign(Node):
    target: Expr
    op: str  # = += -= *=
    value: Expr


@dataclass
class CallStmt(Node):
    call: Expr


Stmt = Union[Let, If, For, Require, Fail, Insert, Delete, Append, Remove, Return, Break, Continue, Assign, CallStmt]


@dataclass
class Block(Node):
    body: list[Stmt]


# ---- declarations ------------------------------------------------------------
@dataclass
class Annotation(Node):
    name: str
    args: list[Expr]


@dataclass
class FieldDecl(Node):
    name: str
    name_span: Span
    type: TypeRef
    annotations: list[Annotation]
    default: Expr | None
    description: str | None
    absent: bool = False  # declared `name?: T`: the key may be missing (not the same as null)


@dataclass
class Param(FieldDecl):
    pass


@dataclass
class DomainDecl(Node):
    name: str
    description: str | None


@dataclass
class PolicyDecl(Node):
    text: str | None
    file: str | None


@dataclass
class SeedDecl(Node):
    path: str


@dataclass
class ConstDecl(Node):
    name: str
    type: TypeRef
    value: Expr


@dataclass
class EnumDecl(Node):
    name: str
    description: str | None
    members: list[tuple[str, Span]]


@dataclass
class RecordDecl(Node):
    name: str
    description: str | None
    fields: list[FieldDecl]


@dataclass
class UnionDecl(Node):
    name: str
    tag: str  # "" for an untagged union (variants are (record, record, span))
    description: str | None
    variants: list[tuple[str, str, Span]]  # (tag value, record name, span)


@dataclass
class CollectionDecl(Node):
    name: str
    name_span: Span
    record: str
    record_span: Span
    key: str
    key_span: Span
    description: str | None


@dataclass
class StateDecl(Node):
    entries: list[Union[CollectionDecl, FieldDecl]]
    actor: str = "agent"  # `user state { ... }`: the user's side of a two-actor domain


@dataclass
class InvariantDecl(Node):
    description: str
    expr: Expr


@dataclass
class GeneratorDecl(Node):
    counts: list[tuple[str, int, int, Span]]


@dataclass
class FnDecl(Node):
    name: str
    name_span: Span
    params: list[Param]
    returns: TypeRef | None  # None: a function with no result
    description: str | None
    body: Block


@dataclass
class ToolDecl(FnDecl):
    effect: str = "read"
    actor: str = "agent"  # `user read tool ...`: a tool only the (simulated) user calls


@dataclass
class EnvFnDecl(FnDecl):
    """`env fn`: a helper the environment itself may call (task set-up, assertions, hooks), never a tool."""


@dataclass
class HookDecl(FnDecl):
    """`hook NAME() { ... }`: runs after every successful tool call, in the same transaction."""


@dataclass
class SharedDecl(Node):
    """`shared a, b`: state fields the tools of both actors may write."""
    names: list[tuple[str, Span]]


@dataclass
class RuleEntry(Node):
    """One line of a `rules` block: kind is user | owned | confirm | transfer | refuse | goal | recipient."""
    kind: str
    # user: [collection, identify tools...]; owned: [collection, field]; recipient: [tool, parameter]
    names: list[tuple[str, Span]]
    text: str | None = None  # refuse: the rule in words; goal: how a user asks for the tool's effect


@dataclass
class RulesDecl(Node):
    entries: list[RuleEntry]


Decl = Union[DomainDecl, PolicyDecl, SeedDecl, ConstDecl, EnumDecl, RecordDecl, UnionDecl, StateDecl,
             InvariantDecl, GeneratorDecl, FnDecl, ToolDecl, RulesDecl, SharedDecl]


@dataclass
class Module(Node):
    file: str
    decls: list[Decl]
    comments: list[tuple[int, int, str]]  # (line, column, text) for the formatter
