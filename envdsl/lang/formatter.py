"""`envdsl fmt`: print a spec's syntax tree back in one canonical layout, keeping every comment.

The formatter works on the AST, not on tokens, so the layout never depends on how the
source was spaced. Three passes:

1. Layout: each declaration and statement becomes one or more `_Line`s (text plus the
   source position it came from). Expressions print on one line with the fewest
   parentheses the grammar's precedence allows.
2. Comments (which the AST does not hold) are put back by position: each comment goes
   with the output line whose source region contains it, as a trailing comment or on
   its own line above, so every comment survives in its original order.
3. Blank lines: at most one, kept only where the source had one, plus one between
   top-level declarations.

`format_source` re-parses its own output and refuses to return text whose tree or
comments differ from the input's: a formatter bug then costs a message, never a spec.

Style: 4-space indent; one statement, record field, state entry and generator entry a
line; `{` ends the line that opens a block; parameters on one line when the header fits
in 100 columns, else one a line with a trailing comma; strings in double quotes unless
the text holds a double quote and no single one; descriptions with newlines as indented
triple-quoted blocks; enum members always quoted.
"""

from __future__ import annotations

import bisect
import os
import re
import tempfile
from dataclasses import dataclass, field, fields, is_dataclass
from pathlib import Path
from typing import Any, Callable

from envdsl.lang import ast as A
from envdsl.lang.diagnostics import DiagnosticBag, Span
from envdsl.lang.parser import _dedent_long, parse_source

INDENT = "    "
MAX_WIDTH = 100


class FormatError(Exception):
    """The formatter could not print a tree faithfully (a bug in the formatter, not in the spec)."""


# ---- precedence (envdsl/lang/grammar.lark, lowest first) ------------------------
COND, COALESCE, OR, AND, NOT, COMPARE, SUM, PRODUCT, UNARY, POWER, POSTFIX, ATOM = range(12)

_BINOP_PREC = {"or": OR, "and": AND, "==": COMPARE, "!=": COMPARE, "<": COMPARE, "<=": COMPARE, ">": COMPARE,
               ">=": COMPARE, "in": COMPARE, "not in": COMPARE, "+": SUM, "-": SUM, "*": PRODUCT, "/": PRODUCT,
               "//": PRODUCT, "%": PRODUCT, "**": POWER}

# Minimum precedence of (left, right) operand, from the grammar's rules: or/and/sum/product are
# left-associative, comparisons take two `sum`s, and `**` takes a postfix on the left, a unary on the right.
_OPERANDS = {OR: (OR, AND), AND: (AND, NOT), COMPARE: (SUM, SUM), SUM: (SUM, PRODUCT), PRODUCT: (PRODUCT, UNARY),
             POWER: (POSTFIX, UNARY)}


# ---- string literals ------------------------------------------------------------
_SIMPLE_ESCAPES = {"\\": "\\\\", "\n": "\\n", "\t": "\\t", "\r": "\\r", "\0": "\\0"}


def _escape(text: str, escaped_quotes: str) -> str:
    """The body of a one-line literal that the parser decodes back to `text`."""
    out = []
    for ch in text:
        if ch in _SIMPLE_ESCAPES:
            out.append(_SIMPLE_ESCAPES[ch])
        elif ch in escaped_quotes:
            out.append("\\" + ch)
        elif not ch.isprintable() and ord(ch) <= 0xFFFF:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


@dataclass(frozen=True)
class _Ctx:
    """Where an expression is printed: its indent level (for triple-quoted blocks) and, inside an
    f-string, which quote characters are still free to delimit a string."""

    indent: int = 0
    quotes: str = "\"'"  # usable delimiters, preferred first
    reserved: str = ""  # quotes of enclosing f-strings: they must be escaped
    top: bool = True  # not inside an f-string: triple quotes allowed

    def inside_fstring(self, quote: str) -> "_Ctx":
        return _Ctx(self.indent, self.quotes.replace(quote, ""), self.reserved + quote, False)


def _quote_for(text: str, ctx: _Ctx) -> str:
    if not ctx.quotes:
        raise FormatError("a string nested in two f-strings cannot be written")
    if len(ctx.quotes) == 2 and '"' in text and "'" not in text:
        return "'"
    return ctx.quotes[0]


def _short_string(text: str, ctx: _Ctx) -> str:
    q = _quote_for(text, ctx)
    return q + _escape(text, q + ctx.reserved) + q


def _long_string(text: str, indent: int) -> str | None:
    """A triple-quoted block whose dedented body is exactly `text`, or None where none is."""
    if '"""' in text or any(not (c.isprintable() or c in "\n\t") for c in text):
        return None
    pad = INDENT * (indent + 1)
    lines = text.split("\n")
    if any(ln != ln.rstrip() for ln in lines):  # trailing spaces would not survive editors
        return None
    literal = '"""\n' + "\n".join(pad + ln if ln else "" for ln in lines) + "\n" + pad + '"""'
    return literal if _dedent_long(literal[3:-3]) == text else None


def _text(text: str, ctx: _Ctx) -> str:
    """A text slot (description, policy): multi-line text as a triple-quoted block."""
    if "\n" in text and ctx.top:
        long = _long_string(text, ctx.indent)
        if long is not None:
            return long
    return _short_string(text, ctx)


# ---- expressions ----------------------------------------------------------------
def _expr(e: A.Expr, min_prec: int, ctx: _Ctx) -> str:
    text, prec = _expr_prec(e, ctx)
    return f"({text})" if prec < min_prec else text


def _expr_prec(e: A.Expr, ctx: _Ctx) -> tuple[str, int]:  # noqa: C901 - one branch a node type
    if isinstance(e, A.Lit):
        return _literal(e.value, ctx)
    if isinstance(e, A.FStr):
        return _fstring(e, ctx), ATOM
    if isinstance(e, A.Name):
        return e.id, ATOM
    if isinstance(e, A.Field):
        return f"{_expr(e.obj, POSTFIX, ctx)}.{e.name}", POSTFIX
    if isinstance(e, A.Index):
        return f"{_expr(e.obj, POSTFIX, ctx)}[{_expr(e.key, COND, ctx)}]", POSTFIX
    if isinstance(e, A.Call):
        args = [_expr(a, COND, ctx) for a in e.args] + [f"{k}={_expr(v, COND, ctx)}" for k, v, _ in e.kwargs]
        return f"{e.func}({', '.join(args)})", POSTFIX
    if isinstance(e, A.BinOp):
        prec = _BINOP_PREC[e.op]
        left_min, right_min = _OPERANDS[prec]
        return f"{_expr(e.left, left_min, ctx)} {e.op} {_expr(e.right, right_min, ctx)}", prec
    if isinstance(e, A.UnOp):
        if e.op == "not":
            return f"not {_expr(e.operand, NOT, ctx)}", NOT
        operand = _expr(e.operand, UNARY, ctx)
        return ("-" + (f"({operand})" if operand.startswith("-") else operand)), UNARY
    if isinstance(e, A.IsVariant):
        return f"{_expr(e.obj, SUM, ctx)} is {'not ' if e.negated else ''}{e.variant}", COMPARE
    if isinstance(e, A.Cond):
        # a nested conditional in the test or `then` reads badly without parentheses; `else if` chains fine
        return (f"if {_expr(e.test, COALESCE, ctx)} then {_expr(e.then, COALESCE, ctx)} "
                f"else {_expr(e.orelse, COND, ctx)}"), COND
    if isinstance(e, A.Coalesce):
        if e.fail:
            return f"{_expr(e.left, OR, ctx)} ?? fail {_expr(e.right, OR, ctx)}", COALESCE
        return f"{_expr(e.left, OR, ctx)} ?? {_expr(e.right, COALESCE, ctx)}", COALESCE
    if isinstance(e, A.ListLit):
        return "[" + ", ".join(_expr(x, COND, ctx) for x in e.items) + "]", ATOM
    if isinstance(e, A.MapLit):
        return "{" + ", ".join(f"{_expr(k, COND, ctx)}: {_expr(v, COND, ctx)}" for k, v in e.pairs) + "}", ATOM
    if isinstance(e, A.ListComp):
        return f"[{_expr(e.elt, COND, ctx)}{_comp_for(e.comp, ctx)}]", ATOM
    if isinstance(e, A.MapComp):
        return f"{{{_expr(e.key, COND, ctx)}: {_expr(e.value, COND, ctx)}{_comp_for(e.comp, ctx)}}}", ATOM
    raise FormatError(f"unknown expression node {type(e).__name__}")


def _literal(value: object, ctx: _Ctx) -> tuple[str, int]:
    if value is None:
        return "null", ATOM
    if isinstance(value, bool):
        return ("true" if value else "false"), ATOM
    if isinstance(value, str):
        return _short_string(value, ctx), ATOM
    if isinstance(value, (int, float)):
        text = repr(value)
        # the parser folds `-1` into a literal: it binds like a unary minus
        return text, (UNARY if text.startswith("-") else ATOM)
    raise FormatError(f"unknown literal {value!r}")


def _comp_for(c: A.CompFor, ctx: _Ctx) -> str:
    names = c.var + (f", {c.var2}" if c.var2 else "")
    cond = f" if {_expr(c.cond, OR, ctx)}" if c.cond is not None else ""
    return f" for {names} in {_expr(c.iter, OR, ctx)}{cond}"


def _fstring(e: A.FStr, ctx: _Ctx) -> str:
    if not ctx.quotes:
        raise FormatError("an f-string nested in two f-strings cannot be written")
    specs = [p[1] for p in e.parts if isinstance(p, tuple)]
    # format specs are kept as written, so the delimiter must not occur in them
    quote = ctx.quotes[0]
    if len(ctx.quotes) == 2 and any(quote in s for s in specs):
        quote = ctx.quotes[1]
    inner = ctx.inside_fstring(quote)
    out = ["f", quote]
    for part in e.parts:
        if isinstance(part, str):
            out.append(_escape(part, quote + ctx.reserved).replace("{", "{{").replace("}", "}}"))
            continue
        expr, spec = part
        text = _expr(expr, COND, inner)
        if text.startswith("{"):  # `{{` would read as an escaped brace
            text = " " + text
        out.append("{" + text + (":" + spec if spec else "") + "}")
    out.append(quote)
    return "".join(out)


def _type(t: A.TypeRef) -> str:
    args = f"<{', '.join(_type(a) for a in t.args)}>" if t.args else ""
    return f"{t.name}{args}{'?' if t.optional else ''}"


# ---- layout: declarations and statements to lines --------------------------------
Pos = tuple[int, int]


@dataclass
class _Line:
    indent: int
    text: str  # may hold newlines (a triple-quoted block); later physical lines carry their own indent
    start: Pos  # source position of the first code this line prints: comments before it go above it
    end_line: int  # last source line of the code this line prints
    comment_indent: int  # indent of comments placed above this line
    tight_before: bool = False  # never a blank line just above (a closing brace)
    tight_after: bool = False  # never a blank line just below (an opening brace)
    spaced: bool = False  # a top-level declaration: a blank line above its first comment or itself


def _start(span: Span) -> Pos:
    return (span.line, span.column)


def _end_brace(span: Span) -> Pos:
    return (span.end_line, max(1, span.end_column - 1))


_TOKEN_AT = re.compile(r'"""(?:.|\n)*?"""|"(?:[^"\\\n]|\\.)*"|\'(?:[^\'\\\n]|\\.)*\'')
_SKIP = re.compile(r"(?:\s|#[^\n]*)*")

# Declarations of these kinds sit together without a blank line if the source had none.
_GROUP = {A.DomainDecl: "header", A.PolicyDecl: "header", A.SeedDecl: "header", A.ConstDecl: "const",
          A.InvariantDecl: "invariant", A.EnumDecl: "enum", A.UnionDecl: "union"}


def _rule_entry(e: A.RuleEntry) -> str:
    """One line of a `rules` block in its canonical form."""
    names = [n for n, _ in e.names]
    if e.kind == "user":
        return f"user {names[0]} identified by {', '.join(names[1:])}"
    if e.kind in ("owned", "recipient"):
        return f"{e.kind} {names[0]}.{names[1]}"
    if e.kind == "refuse":
        return f"refuse {_text(e.text or '', _Ctx(1))}"
    if e.kind == "goal":
        return f"goal {names[0]} {_text(e.text or '', _Ctx(1))}"
    return f"{e.kind} {', '.join(names)}"


class _Layout:
    def __init__(self, module: A.Module, source: str):
        self.module = module
        self.source = source
        self.line_offsets = [0]
        for m in re.finditer("\n", source):
            self.line_offsets.append(m.end())
        self.comment_positions = sorted((ln, col) for ln, col, _ in module.comments)
        self.lines: list[_Line] = []
        self._prev_one_liner = False

    # -- source positions
    def _offset(self, pos: Pos) -> int:
        return self.line_offsets[pos[0] - 1] + pos[1] - 1

    def _pos(self, offset: int) -> Pos:
        line = bisect.bisect_right(self.line_offsets, offset) - 1
        return (line + 1, offset - self.line_offsets[line] + 1)

    def _string_after(self, after: Pos) -> tuple[Pos, int]:
        """Start position and end line of the string literal that is the next token after `after`."""
        at = _SKIP.match(self.source, self._offset(after)).end()  # type: ignore[union-attr]
        m = _TOKEN_AT.match(self.source, at)
        end = m.end() - 1 if m else at
        return self._pos(at), self._pos(end)[0]

    def _close_paren(self, after: Pos) -> Pos:
        """Position of the ')' closing a parameter list: the first ')' after `after` outside comments."""
        i = self._offset(after)
        while i < len(self.source):
            i = _SKIP.match(self.source, i).end()  # type: ignore[union-attr]
            if i < len(self.source) and self.source[i] == ")":
                return self._pos(i)
            i += 1
        return self._pos(len(self.source) - 1)

    def _has_comments(self, start: Pos, end: Pos) -> bool:
        return any(start <= c < end for c in self.comment_positions)

    # -- output
    def emit(self, indent: int, text: str, start: Pos, end_line: int, comment_indent: int | None = None,
             **flags: bool) -> _Line:
        line = _Line(indent, text, start, max(end_line, start[0]),
                     indent if comment_indent is None else comment_indent, **flags)
        self.lines.append(line)
        return line

    def layout(self) -> list[_Line]:
        prev: A.Decl | None = None
        for d in self.module.decls:
            first = len(self.lines)
            self.decl(d)
            if prev is not None:
                own = self.lines[first:]
                one_liner = len(own) == 1 and "\n" not in own[0].text
                same_group = _GROUP.get(type(d)) is not None and _GROUP.get(type(d)) == _GROUP.get(type(prev))
                self.lines[first].spaced = not (same_group and one_liner and self._prev_one_liner)
            self._prev_one_liner = len(self.lines) - first == 1 and "\n" not in self.lines[-1].text
            prev = d
        return self.lines

    # -- declarations
    def decl(self, d: A.Decl) -> None:  # noqa: C901 - one branch a declaration kind
        ctx = _Ctx(0)
        whole = (d.span.line, d.span.column), d.span.end_line
        if isinstance(d, A.DomainDecl):
            self.emit(0, f"domain {d.name}{self._desc(d.description, ctx)}", *whole)
        elif isinstance(d, A.PolicyDecl):
            if d.text is not None:
                self.emit(0, f"policy {_text(d.text, ctx)}", *whole)
            else:
                self.emit(0, f"policy file {_short_string(d.file or '', ctx)}", *whole)
        elif isinstance(d, A.SeedDecl):
            self.emit(0, f"seed {_short_string(d.path, ctx)}", *whole)
        elif isinstance(d, A.ConstDecl):
            self.emit(0, f"const {d.name}: {_type(d.type)} = {_expr(d.value, COND, ctx)}", *whole)
        elif isinstance(d, A.InvariantDecl):
            self.emit(0, f"invariant {_text(d.description, ctx)}: {_expr(d.expr, COND, ctx)}", *whole)
        elif isinstance(d, A.EnumDecl):
            head = f"enum {d.name}{self._desc(d.description, ctx)}"
            self._listing(d.span, head, [(_short_string(v, ctx), s) for v, s in d.members])
        elif isinstance(d, A.UnionDecl):
            if d.tag:
                head = f"union {d.name} by {d.tag}{self._desc(d.description, ctx)}"
                self._listing(d.span, head, [(f"{_short_string(t, ctx)}: {r}", s) for t, r, s in d.variants])
            else:  # untagged
                self._listing(d.span, f"union {d.name}{self._desc(d.description, ctx)}",
                              [(r, s) for _, r, s in d.variants])
        elif isinstance(d, A.RecordDecl):
            head = f"record {d.name}{self._desc(d.description, ctx)}"
            self._entries(d.span, head, [(self._field(f, 1), f.span) for f in d.fields])
        elif isinstance(d, A.StateDecl):
            self._entries(d.span, "user state" if d.actor == "user" else "state",
                          [(self._state_entry(e), e.span) for e in d.entries])
        elif isinstance(d, A.GeneratorDecl):
            self._entries(d.span, "generator", [(f"{n}: {lo}..{hi}", s) for n, lo, hi, s in d.counts])
        elif isinstance(d, A.RulesDecl):
            self._entries(d.span, "rules", [(_rule_entry(e), e.span) for e in d.entries])
        elif isinstance(d, A.SharedDecl):
            self.emit(0, "shared " + ", ".join(n for n, _ in d.names), *whole)
        elif isinstance(d, A.HookDecl):
            self.emit(0, f"hook {d.name}() {{", _start(d.span), d.body.span.line, tight_after=True)
            self._body(d.body, 1)
            self.emit(0, "}", _end_brace(d.body.span), d.body.span.end_line, comment_indent=1, tight_before=True)
        elif isinstance(d, A.FnDecl):  # and ToolDecl, EnvFnDecl
            self._function(d)
        else:
            raise FormatError(f"unknown declaration {type(d).__name__}")

    def _desc(self, description: str | None, ctx: _Ctx) -> str:
        return "" if description is None else " " + _text(description, ctx)

    def _field(self, f: A.FieldDecl, indent: int) -> str:
        ctx = _Ctx(indent)
        parts = [f"{f.name}{'?' if f.absent else ''}: {_type(f.type)}"]
        for a in f.annotations:
            parts.append(f"@{a.name}({', '.join(_expr(x, COND, ctx) for x in a.args)})")
        if f.default is not None:
            parts.append(f"= {_expr(f.default, COND, ctx)}")
        if f.description is not None:
            parts.append(_text(f.description, ctx))
        return " ".join(parts)

    def _state_entry(self, e: A.CollectionDecl | A.FieldDecl) -> str:
        if isinstance(e, A.CollectionDecl):
            keyed = f"by {e.key}" if e.key else "keyed"
            return f"{e.name}: collection<{e.record}> {keyed}{self._desc(e.description, _Ctx(1))}"
        return self._field(e, 1)

    def _entries(self, span: Span, head: str, entries: list[tuple[str, Span]]) -> None:
        """A `{ }` body with one entry a line (records, state, generator)."""
        if not entries and not self._has_comments(_start(span), _end_brace(span)):
            self.emit(0, head + " {}", _start(span), span.end_line)
            return
        self.emit(0, head + " {", _start(span), span.line, tight_after=True)
        for text, s in entries:
            self.emit(1, text, _start(s), s.end_line)
        self.emit(0, "}", _end_brace(span), span.end_line, comment_indent=1, tight_before=True)

    def _listing(self, span: Span, head: str, items: list[tuple[str, Span]]) -> None:
        """Comma-separated members (enums, unions): on one line when short and comment-free."""
        one_line = f"{head} {{ {', '.join(t for t, _ in items)} }}"
        if (len(one_line) <= MAX_WIDTH and "\n" not in one_line
                and not self._has_comments(_start(span), _end_brace(span))):
            self.emit(0, one_line, _start(span), span.end_line)
            return
        self.emit(0, head + " {", _start(span), span.line, tight_after=True)
        for text, s in items:
            self.emit(1, text + ",", _start(s), s.end_line)
        self.emit(0, "}", _end_brace(span), span.end_line, comment_indent=1, tight_before=True)

    def _function(self, d: A.FnDecl) -> None:
        head = f"{d.effect} tool {d.name}(" if isinstance(d, A.ToolDecl) else f"fn {d.name}("
        if isinstance(d, A.ToolDecl) and d.actor == "user":
            head = "user " + head
        elif isinstance(d, A.EnvFnDecl):
            head = "env " + head
        params = [self._field(p, 1) for p in d.params]
        returns = f") -> {_type(d.returns)}" if d.returns is not None else ")"
        # where the head ends: the result type, else (no result) the ')' that closes the parameters, so that a
        # comment before it is inside the head on every pass (the name would leave one before it outside)
        if d.returns is not None:
            ret_at, ret_end_line, head_after = _start(d.returns.span), d.returns.span.end_line, (
                d.returns.span.end_line, d.returns.span.end_column)
        else:
            last_token = d.params[-1].span if d.params else d.name_span
            ret_at = self._close_paren((last_token.end_line, last_token.end_column))
            ret_end_line, head_after = ret_at[0], (ret_at[0], ret_at[1] + 1)
        opener = "" if d.description is not None else " {"
        one_line = head + ", ".join(params) + returns + opener
        if (len(one_line) <= MAX_WIDTH and "\n" not in one_line
                and not self._has_comments(_start(d.span), ret_at)):
            last = self.emit(0, one_line, _start(d.span), ret_end_line)
        else:
            self.emit(0, head, _start(d.span), d.span.line, tight_after=True)
            for p, text in zip(d.params, params):
                self.emit(1, text + ",", _start(p.span), p.span.end_line)
            last = self.emit(0, returns + opener, ret_at, ret_end_line, comment_indent=1, tight_before=True)
        if d.description is not None:
            at, end_line = self._string_after(head_after)
            self.emit(1, _text(d.description, _Ctx(1)), at, end_line, tight_before=True)
            self.emit(0, "{", _start(d.body.span), d.body.span.line, tight_before=True, tight_after=True)
        else:
            last.end_line = d.body.span.line
            last.tight_after = True
        self._body(d.body, 1)
        self.emit(0, "}", _end_brace(d.body.span), d.body.span.end_line, comment_indent=1, tight_before=True)

    # -- statements
    def _body(self, block: A.Block, indent: int) -> None:
        for s in block.body:
            self.stmt(s, indent)

    def _opener(self, indent: int, text: str, start: Pos, block: A.Block, closes: bool = False) -> None:
        self.emit(indent, text + " {", start, block.span.line, comment_indent=indent + 1 if closes else indent,
                  tight_before=closes, tight_after=True)
        self._body(block, indent + 1)

    def _closer(self, indent: int, block: A.Block) -> None:
        self.emit(indent, "}", _end_brace(block.span), block.span.end_line, comment_indent=indent + 1,
                  tight_before=True)

    def stmt(self, s: A.Stmt, indent: int) -> None:  # noqa: C901 - one branch a statement kind
        ctx = _Ctx(indent)

        def e(x: A.Expr, prec: int = COND) -> str:
            return _expr(x, prec, ctx)

        if isinstance(s, A.If):
            prev: A.Block | None = None
            for test, block in s.branches:
                if prev is None:
                    self._opener(indent, f"if {e(test, COALESCE)}", _start(s.span), block)
                else:
                    self._opener(indent, f"}} elif {e(test, COALESCE)}", _end_brace(prev.span), block, closes=True)
                prev = block
            if s.orelse is not None and prev is not None:
                self._opener(indent, "} else", _end_brace(prev.span), s.orelse, closes=True)
                prev = s.orelse
            if prev is not None:
                self._closer(indent, prev)
            return
        if isinstance(s, A.For):
            names = s.var + (f", {s.var2}" if s.var2 else "")
            self._opener(indent, f"for {names} in {e(s.iter, COALESCE)}", _start(s.span), s.body)
            self._closer(indent, s.body)
            return
        text = self._simple_stmt(s, e)
        self.emit(indent, text, _start(s.span), s.span.end_line)

    @staticmethod
    def _simple_stmt(s: A.Stmt, e: Callable[..., str]) -> str:  # noqa: C901 - one branch a statement kind
        if isinstance(s, A.Let):
            annotation = f": {_type(s.type)}" if s.type is not None else ""
            return f"let {s.name}{annotation} = {e(s.value)}"
        if isinstance(s, A.Assign):
            return f"{e(s.target, POSTFIX)} {s.op} {e(s.value)}"
        if isinstance(s, A.Require):
            return f"require {e(s.cond, COALESCE)} else {e(s.message)}"
        if isinstance(s, A.Fail):
            return f"fail {e(s.message)}"
        if isinstance(s, A.Insert):
            return f"insert {e(s.target, POSTFIX)} = {e(s.value)}"
        if isinstance(s, A.Delete):
            return f"delete {e(s.target, POSTFIX)}"
        if isinstance(s, A.Append):
            return f"append {e(s.value)} to {e(s.target, POSTFIX)}"
        if isinstance(s, A.Remove):
            return f"remove {e(s.value)} from {e(s.target, POSTFIX)}"
        if isinstance(s, A.Return):
            return f"return {e(s.value)}" if s.value is not None else "return"
        if isinstance(s, A.Break):
            return "break"
        if isinstance(s, A.Continue):
            return "continue"
        if isinstance(s, A.CallStmt):
            return e(s.call, POSTFIX)
        raise FormatError(f"unknown statement {type(s).__name__}")


# ---- comments and blank lines ------------------------------------------------------
@dataclass
class _Comment:
    line: int
    column: int
    text: str
    trailing: bool  # code precedes it on its source line


def _place_comments(lines: list[_Line], comments: list[_Comment]) -> tuple[list[list[_Comment]],
                                                                            list[list[_Comment]]]:
    """For each line, the comments above it, and those attached to it (the last one trails it).

    A comment belongs to the line whose source region (its start up to the next line's start)
    holds it. Trailing comments and comments inside the line's own code stay with the line;
    a comment on its own line after that code goes above the next line, and so does every
    later comment of the region, so the order never changes. Index len(lines) = end of file.
    """
    above: list[list[_Comment]] = [[] for _ in range(len(lines) + 1)]
    attached: list[list[_Comment]] = [[] for _ in range(len(lines))]
    ci = 0
    for i, line in enumerate(lines):
        next_start = lines[i + 1].start if i + 1 < len(lines) else (1 << 62, 0)
        moved_on = False
        while ci < len(comments) and (comments[ci].line, comments[ci].column) < next_start:
            c = comments[ci]
            if (c.line, c.column) < line.start:
                above[i].append(c)
            elif not moved_on and (c.trailing or c.line <= line.end_line):
                attached[i].append(c)
            else:
                moved_on = True
                above[i + 1].append(c)
            ci += 1
    above[len(lines)].extend(comments[ci:])
    return above, attached


@dataclass
class _Element:
    """One thing to print: a comment on its own line or a code line, with its source lines."""

    indent: int
    text: str
    first: int
    last: int
    tight_before: bool = False
    tight_after: bool = False
    spaced: bool = False


def _render(lines: list[_Line], comments: list[_Comment], source: str) -> str:
    above, attached = _place_comments(lines, comments)
    elements: list[_Element] = []
    for i in range(len(lines) + 1):
        line = lines[i] if i < len(lines) else None
        group = [_Element(line.comment_indent if line else 0, c.text, c.line, c.line) for c in above[i]]
        if line is not None:
            extra = attached[i]
            # above a closing brace, comments stay inside the block they came from
            group += [_Element(line.comment_indent, c.text, c.line, c.line) for c in extra[:-1]]
            text = line.text + (f"  {extra[-1].text}" if extra else "")
            last = max([line.end_line] + [c.line for c in extra])
            group.append(_Element(line.indent, text, line.start[0], last, line.tight_before, line.tight_after))
            group[0].spaced = line.spaced
        elements.extend(group)

    blank = [ln.strip() == "" for ln in source.split("\n")]
    out: list[str] = []
    prev: _Element | None = None
    for el in elements:
        if prev is not None:
            if el.spaced:
                out.append("")
            elif not (prev.tight_after or el.tight_before) and any(blank[prev.last:el.first - 1]):
                out.append("")
        out.append(INDENT * el.indent + el.text)
        prev = el
    return "\n".join(out) + "\n" if out else ""


def _comments(module: A.Module, source: str) -> list[_Comment]:
    src_lines = source.split("\n")
    out = []
    for line, column, text in sorted(module.comments):
        before = src_lines[line - 1][:column - 1] if line <= len(src_lines) else ""
        out.append(_Comment(line, column, text.rstrip(), before.strip() != ""))
    return out


# ---- public API -----------------------------------------------------------------------
def ast_shape(node: Any) -> Any:
    """A node as nested tuples without positions: equal shapes = the same parse tree."""
    if isinstance(node, Span):
        return None
    if isinstance(node, A.Module):
        return ("Module", ast_shape(node.decls))
    if is_dataclass(node):
        return (type(node).__name__,) + tuple(
            ast_shape(getattr(node, f.name)) for f in fields(node) if not isinstance(getattr(node, f.name), Span))
    if isinstance(node, (list, tuple)):
        return tuple(ast_shape(x) for x in node if not isinstance(x, Span))
    if isinstance(node, float):
        return ("float", repr(node))  # tells -0.0 from 0.0 and 1.0 from 1
    if isinstance(node, (bool, int)):
        return (type(node).__name__, node)
    return node


def comment_texts(module: A.Module) -> list[str]:
    return [text.rstrip() for _, _, text in sorted(module.comments)]


def format_module(module: A.Module, source: str) -> str:
    """The canonical text of a parsed module (no checks: see format_source)."""
    lines = _Layout(module, source).layout()
    return _render(lines, _comments(module, source), source)


def format_source(source: str, file: str, bag: DiagnosticBag) -> str | None:
    """Canonical text of `source`; None (with diagnostics in `bag`) if it does not parse.

    Raises FormatError if the result would not parse back to the same tree and comments.
    """
    module = parse_source(source, file, bag)
    if module is None:
        return None
    text = format_module(module, source)
    check = DiagnosticBag()
    again = parse_source(text, file, check)
    if again is None:
        raise FormatError("the formatted text does not parse: " + check.render().splitlines()[0])
    if ast_shape(again) != ast_shape(module):
        raise FormatError("the formatted text parses to a different tree")
    if comment_texts(again) != comment_texts(module):
        raise FormatError("the formatted text lost or reordered comments")
    return text


@dataclass
class FmtResult:
    changed: list[str] = field(default_factory=list)  # display paths that were (or would be) rewritten
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)  # "path: reason" for files the formatter refused


def format_files(files: list[tuple[Path, str]], bag: DiagnosticBag, write: bool) -> FmtResult:
    """Format (path, display name) pairs; rewrite changed files in place when `write`.

    A file with syntax errors gets diagnostics in `bag` and is never touched.
    """
    result = FmtResult()
    for path, display in files:
        try:
            raw = path.read_bytes()
            source = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            bag.error("E0607", f"{display} is not UTF-8 text (byte {e.start})", display, Span(1, 1, 1, 2))
            continue
        except OSError as e:
            result.failed.append(f"{display}: cannot read: {e.strerror or e}")
            continue
        try:
            text = format_source(source, display, bag)
        except FormatError as e:
            result.failed.append(f"{display}: not formatted, {e} (a bug in envdsl fmt)")
            continue
        if text is None:
            continue
        if text == source:
            result.unchanged += 1
            continue
        result.changed.append(display)
        if write:
            try:
                _write_atomic(path, text)
            except OSError as e:
                result.failed.append(f"{display}: cannot write: {e.strerror or e}")
    return result


def _write_atomic(path: Path, text: str) -> None:
    """Write beside the file, then rename over it: a reader never sees half a file."""
    mode = path.stat().st_mode & 0o7777
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
