"""Source text -> AST. Syntax errors become diagnostics, never exceptions.

Nothing here evaluates spec text: numbers go through int()/float() on digits the lexer
already checked, and string escapes are decoded by hand.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

from lark import Lark, Token, Transformer, Tree, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from envdsl.lang import ast as A
from envdsl.lang.diagnostics import DiagnosticBag, Span
from envdsl.lang.limits import MAX_SPEC_BYTES, MAX_TREE_DEPTH, lone_surrogate

_GRAMMAR = Path(__file__).with_name("grammar.lark")

# Readable names for the terminals Lark reports in "expected one of".
_TERMINAL_NAMES = {
    "NAME": "a name", "INT": "an integer", "FLOAT": "a number", "STRING": "a string",
    "LONG_STRING": "a string", "FSTRING": "an f-string", "LBRACE": "'{'", "RBRACE": "'}'",
    "LPAR": "'('", "RPAR": "')'", "LSQB": "'['", "RSQB": "']'", "COMMA": "','", "COLON": "':'",
    "EQUAL": "'='", "DOT": "'.'", "MORETHAN": "'>'", "LESSTHAN": "'<'", "__ANON_0": "'->'",
    "$END": "end of file", "SEMICOLON": "';'", "AT": "'@'", "QMARK": "'?'", "MINUS": "'-'", "PLUS": "'+'",
    "OPTIONAL": "'?'",  # `name?: T`, a field that may be absent
}


# Comments are ignored by the grammar but kept for the formatter: the lexer hands each one
# to this list, which parse_source empties before and reads after a parse.
_COMMENT_SINK: list[Token] = []


@functools.lru_cache(maxsize=1)
def _lark() -> Lark:
    return Lark(_GRAMMAR.read_text(encoding="utf-8"), parser="lalr", start=["start", "expr"],
                propagate_positions=True, maybe_placeholders=True,
                lexer_callbacks={"COMMENT": _COMMENT_SINK.append})


def _span_of(meta: Any) -> Span:
    if getattr(meta, "empty", False):
        return Span(1, 1, 1, 1)
    return Span(meta.line, meta.column, meta.end_line, meta.end_column)


def _tok_span(tok: Token) -> Span:
    return Span(tok.line or 1, tok.column or 1, tok.end_line or tok.line or 1, tok.end_column or tok.column or 1)


class SpecSyntaxError(Exception):
    def __init__(self, code: str, message: str, span: Span, hint: str | None = None):
        super().__init__(message)
        self.code, self.message, self.span, self.hint = code, message, span, hint


_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "'": "'", "0": "\0", "{": "\\{", "}": "\\}"}


def decode_string(tok: Token) -> str:
    raw = str(tok)
    if raw.startswith('"""'):
        return _dedent_long(raw[3:-3])
    body = raw[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        nxt = body[i + 1] if i + 1 < len(body) else ""
        if nxt == "u" and len(body) >= i + 6 and all(c in "0123456789abcdefABCDEF" for c in body[i + 2:i + 6]):
            out.append(chr(int(body[i + 2:i + 6], 16)))
            i += 6
            continue
        if nxt in _ESCAPES and nxt not in "{}":
            out.append(_ESCAPES[nxt])
            i += 2
            continue
        col = (tok.column or 1) + 1 + i
        raise SpecSyntaxError("E0104", f"invalid escape sequence '\\{nxt}' in string",
                              Span(tok.line or 1, col, tok.line or 1, col + 2))
    text = "".join(out)
    if lone_surrogate(text) >= 0:
        text = _join_surrogate_pairs(text, tok)
    return text


def _join_surrogate_pairs(text: str, tok: Token) -> str:
    """`\\ud83d\\ude00` is one character written as a UTF-16 pair: join such pairs; a surrogate
    without its partner is not text (it cannot be written as UTF-8) and is refused."""
    try:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le")
    except UnicodeDecodeError:
        line, col = tok.line or 1, tok.column or 1
        raise SpecSyntaxError("E0703", "a \\u escape here is half of a UTF-16 surrogate pair without its other half",
                              Span(line, col, line, col + 1),
                              "write the character itself, or both halves of the pair") from None


def _dedent_long(text: str) -> str:
    """Triple-quoted text: drop the first newline and the common indentation (like a docstring)."""
    first_inline = not text.startswith("\n")  # text right after the quotes: its indent is not the block's
    if not first_inline:
        text = text[1:]
    lines = text.split("\n")
    rest = lines[1:] if first_inline else lines
    indents = [len(ln) - len(ln.lstrip(" ")) for ln in rest if ln.strip()]
    cut = min(indents) if indents else 0
    lines = [lines[0], *(ln[cut:] for ln in rest)] if first_inline else [ln[cut:] for ln in lines]
    if lines and not lines[-1].strip():
        lines = lines[:-1]
    return "\n".join(lines)


@v_args(meta=True, inline=True)
class _ToAst(Transformer):  # type: ignore[type-arg]
    """Builds AST nodes from Lark's tree. One method a grammar rule."""

    def __init__(self, file: str, source: str):
        super().__init__()
        self.file = file
        self.source = source

    # ---- helpers
    def _fstring(self, tok: Token) -> A.FStr:
        raw = str(tok)
        quote = raw[1]
        body = raw[2:-1]
        line, col0 = tok.line or 1, (tok.column or 1) + 2
        parts: list[Any] = []
        buf: list[str] = []
        i = 0

        def err(msg: str, at: int) -> SpecSyntaxError:
            return SpecSyntaxError("E0105", msg, Span(line, col0 + at, line, col0 + at + 1))

        while i < len(body):
            ch = body[i]
            if ch == "{" and body[i:i + 2] == "{{":
                buf.append("{")
                i += 2
            elif ch == "}" and body[i:i + 2] == "}}":
                buf.append("}")
                i += 2
            elif ch == "}":
                raise err("single '}' in f-string", i)
            elif ch == "{":
                depth, j, in_str = 0, i + 1, ""
                colon = -1
                while j < len(body):
                    c = body[j]
                    if in_str:
                        if c == "\\":
                            j += 1
                        elif c == in_str:
                            in_str = ""
                    elif c in "\"'" and c != quote:
                        in_str = c
                    elif c in "([{":
                        depth += 1
                    elif c in ")]}" and depth:
                        depth -= 1
                    elif c == "}":
                        break
                    elif c == ":" and depth == 0 and colon < 0:
                        colon = j
                    j += 1
                if j >= len(body):
                    raise err("'{' in f-string is never closed", i)
                expr_end = colon if colon >= 0 else j
                expr_text = body[i + 1:expr_end]
                spec = body[colon + 1:j] if colon >= 0 else ""
                if not expr_text.strip():
                    raise err("empty expression in f-string", i)
                if buf:
                    parts.append(self._unescape_fpart("".join(buf), tok))
                    buf = []
                # Pad the inner text so Lark reports positions in the file's coordinates.
                padded = "\n" * (line - 1) + " " * (col0 + i) + expr_text
                try:
                    tree = _lark().parse(padded, start="expr")
                except UnexpectedInput as e:
                    raise SpecSyntaxError("E0105", "invalid expression in f-string",
                                          Span(line, e.column, line, e.column + 1)) from None
                _check_depth(tree)
                expr = _ToAst(self.file, self.source).transform(tree)
                parts.append((expr, spec))
                i = j + 1
            else:
                if ch == "\\":
                    buf.append(body[i:i + 2])
                    i += 2
                    continue
                buf.append(ch)
                i += 1
        if buf:
            parts.append(self._unescape_fpart("".join(buf), tok))
        return A.FStr(_tok_span(tok), parts)

    def _unescape_fpart(self, text: str, tok: Token) -> str:
        fake = Token("STRING", '"' + text + '"', line=tok.line, column=tok.column)
        return decode_string(fake)

    # ---- top level
    def start(self, meta: Any, *items: Any) -> list[Any]:
        return list(items)

    def text(self, meta: Any, tok: Token) -> A.Lit:
        return A.Lit(_tok_span(tok), decode_string(tok))

    def domain_decl(self, meta: Any, name: Token, desc: A.Lit | None) -> A.DomainDecl:
        return A.DomainDecl(_span_of(meta), str(name), desc.value if desc else None)  # type: ignore[arg-type]

    def policy_inline(self, meta: Any, text: A.Lit) -> A.PolicyDecl:
        return A.PolicyDecl(_span_of(meta), str(text.value), None)

    def policy_file(self, meta: Any, text: A.Lit) -> A.PolicyDecl:
        return A.PolicyDecl(_span_of(meta), None, str(text.value))

    def seed_decl(self, meta: Any, text: A.Lit) -> A.SeedDecl:
        return A.SeedDecl(_span_of(meta), str(text.value))

    def const_decl(self, meta: Any, name: Token, type_: A.TypeRef, value: Any) -> A.ConstDecl:
        return A.ConstDecl(_span_of(meta), str(name), type_, value)

    def enum_member(self, meta: Any, tok: Token) -> tuple[str, Span]:
        value = decode_string(tok) if tok.type == "STRING" else str(tok)
        return (value, _tok_span(tok))

    def enum_decl(self, meta: Any, name: Token, desc: A.Lit | None, *members: Any) -> A.EnumDecl:
        return A.EnumDecl(_span_of(meta), str(name), desc.value if desc else None,  # type: ignore[arg-type]
                          [m for m in members if m is not None])

    def field(self, meta: Any, name: Token, absent: Token | None, type_: A.TypeRef, *rest: Any) -> A.FieldDecl:
        *annots, default, desc = rest
        return A.FieldDecl(_span_of(meta), str(name), _tok_span(name), type_, list(annots), default,
                           desc.value if desc else None, absent is not None)

    def param(self, meta: Any, name: Token, type_: A.TypeRef, *rest: Any) -> A.Param:
        *annots, default, desc = rest
        return A.Param(_span_of(meta), str(name), _tok_span(name), type_, list(annots), default,
                       desc.value if desc else None)

    def annotation(self, meta: Any, name: Token, *args: Any) -> A.Annotation:
        return A.Annotation(_span_of(meta), str(name), [a for a in args if a is not None])

    def record_decl(self, meta: Any, name: Token, desc: A.Lit | None, *fields: A.FieldDecl) -> A.RecordDecl:
        return A.RecordDecl(_span_of(meta), str(name), desc.value if desc else None, list(fields))  # type: ignore[arg-type]

    def variant(self, meta: Any, tag: Token, rec: Token) -> tuple[str, str, Span]:
        return (decode_string(tag), str(rec), _span_of(meta))

    def union_decl(self, meta: Any, name: Token, tag: Token, desc: A.Lit | None, *variants: Any) -> A.UnionDecl:
        return A.UnionDecl(_span_of(meta), str(name), str(tag), desc.value if desc else None,  # type: ignore[arg-type]
                           [v for v in variants if v is not None])

    def bare_variant(self, meta: Any, rec: Token) -> tuple[str, str, Span]:
        return (str(rec), str(rec), _span_of(meta))

    def untagged_union_decl(self, meta: Any, name: Token, desc: A.Lit | None, *variants: Any) -> A.UnionDecl:
        # tag "": no tag field; each variant is known by a field of its own (envdsl/lang/unions.py)
        return A.UnionDecl(_span_of(meta), str(name), "", desc.value if desc else None,  # type: ignore[arg-type]
                           [v for v in variants if v is not None])

    def collection_field(self, meta: Any, name: Token, rec: Token, key: Token, desc: A.Lit | None) -> A.CollectionDecl:
        return A.CollectionDecl(_span_of(meta), str(name), _tok_span(name), str(rec), _tok_span(rec), str(key),
                                _tok_span(key), desc.value if desc else None)  # type: ignore[arg-type]

    def keyed_collection_field(self, meta: Any, name: Token, rec: Token, desc: A.Lit | None) -> A.CollectionDecl:
        # no key field: key "" says the map key is the only key (docs/language.md, "Data shapes")
        return A.CollectionDecl(_span_of(meta), str(name), _tok_span(name), str(rec), _tok_span(rec), "",
                                _tok_span(name), desc.value if desc else None)  # type: ignore[arg-type]

    def state_decl(self, meta: Any, *entries: Any) -> A.StateDecl:
        return A.StateDecl(_span_of(meta), list(entries))

    def invariant_decl(self, meta: Any, desc: A.Lit, expr: Any) -> A.InvariantDecl:
        return A.InvariantDecl(_span_of(meta), str(desc.value), expr)

    def gen_entry(self, meta: Any, name: Token, lo: Token, hi: Token) -> tuple[str, int, int, Span]:
        return (str(name), _int_of(lo), _int_of(hi), _span_of(meta))

    def generator_decl(self, meta: Any, *entries: Any) -> A.GeneratorDecl:
        return A.GeneratorDecl(_span_of(meta), list(entries))

    def rule_names(self, meta: Any, *names: Token) -> list[tuple[str, Span]]:
        return [(str(n), _tok_span(n)) for n in names]

    def rule_user(self, meta: Any, coll: Token, tools: list[tuple[str, Span]]) -> A.RuleEntry:
        return A.RuleEntry(_span_of(meta), "user", [(str(coll), _tok_span(coll)), *tools])

    def rule_owned(self, meta: Any, coll: Token, fld: Token) -> A.RuleEntry:
        return A.RuleEntry(_span_of(meta), "owned", [(str(coll), _tok_span(coll)), (str(fld), _tok_span(fld))])

    def rule_confirm(self, meta: Any, tools: list[tuple[str, Span]]) -> A.RuleEntry:
        return A.RuleEntry(_span_of(meta), "confirm", tools)

    def rule_transfer(self, meta: Any, tools: list[tuple[str, Span]]) -> A.RuleEntry:
        return A.RuleEntry(_span_of(meta), "transfer", tools)

    def rule_refuse(self, meta: Any, text: A.Lit) -> A.RuleEntry:
        return A.RuleEntry(_span_of(meta), "refuse", [], str(text.value))

    def rule_text(self, meta: Any, tok: Token) -> A.Lit:
        return A.Lit(_tok_span(tok), decode_string(tok))

    def rule_goal(self, meta: Any, tool: Token, text: A.Lit) -> A.RuleEntry:
        return A.RuleEntry(_span_of(meta), "goal", [(str(tool), _tok_span(tool))], str(text.value))

    def rule_recipient(self, meta: Any, tool: Token, param: Token) -> A.RuleEntry:
        return A.RuleEntry(_span_of(meta), "recipient", [(str(tool), _tok_span(tool)), (str(param), _tok_span(param))])

    def rules_decl(self, meta: Any, *entries: A.RuleEntry) -> A.RulesDecl:
        return A.RulesDecl(_span_of(meta), list(entries))

    def params(self, meta: Any, *ps: Any) -> list[A.Param]:
        return [p for p in ps if p is not None]

    def fn_decl(self, meta: Any, name: Token, params: Any, ret: A.TypeRef | None, desc: A.Lit | None,
                body: A.Block) -> A.FnDecl:
        return A.FnDecl(_span_of(meta), str(name), _tok_span(name), params or [], ret,
                        desc.value if desc else None, body)  # type: ignore[arg-type]

    def read_effect(self, meta: Any) -> str:
        return "read"

    def write_effect(self, meta: Any) -> str:
        return "write"

    def tool_decl(self, meta: Any, effect: str, name: Token, params: Any, ret: A.TypeRef | None, desc: A.Lit | None,
                  body: A.Block) -> A.ToolDecl:
        return A.ToolDecl(_span_of(meta), str(name), _tok_span(name), params or [], ret,
                          desc.value if desc else None, body, effect)  # type: ignore[arg-type]

    def user_state_decl(self, meta: Any, *entries: Any) -> A.StateDecl:
        return A.StateDecl(_span_of(meta), list(entries), "user")

    def user_tool_decl(self, meta: Any, effect: str, name: Token, params: Any, ret: A.TypeRef,
                       desc: A.Lit | None, body: A.Block) -> A.ToolDecl:
        return A.ToolDecl(_span_of(meta), str(name), _tok_span(name), params or [], ret,
                          desc.value if desc else None, body, effect, "user")  # type: ignore[arg-type]

    def env_fn_decl(self, meta: Any, name: Token, params: Any, ret: A.TypeRef, desc: A.Lit | None,
                    body: A.Block) -> A.EnvFnDecl:
        return A.EnvFnDecl(_span_of(meta), str(name), _tok_span(name), params or [], ret,
                           desc.value if desc else None, body)  # type: ignore[arg-type]

    def hook_decl(self, meta: Any, name: Token, body: A.Block) -> A.HookDecl:
        # a hook returns nothing: its declared result is `null`, placed on its name for diagnostics
        return A.HookDecl(_span_of(meta), str(name), _tok_span(name), [], A.TypeRef(_tok_span(name), "null"),
                          None, body)

    def shared_decl(self, meta: Any, names: list[tuple[str, Span]]) -> A.SharedDecl:
        return A.SharedDecl(_span_of(meta), names)

    def type(self, meta: Any, name: Token, args: Any, opt: Token | None) -> A.TypeRef:
        return A.TypeRef(_span_of(meta), str(name), args or [], opt is not None)

    def type_args(self, meta: Any, *args: A.TypeRef) -> list[A.TypeRef]:
        return list(args)

    # ---- statements
    def block(self, meta: Any, *stmts: Any) -> A.Block:
        return A.Block(_span_of(meta), [s for s in stmts if s is not None])

    def empty_stmt(self, meta: Any) -> None:
        return None

    def let_stmt(self, meta: Any, name: Token, type_: A.TypeRef | None, value: Any) -> A.Let:
        return A.Let(_span_of(meta), str(name), _tok_span(name), type_, value)

    def elif_clause(self, meta: Any, cond: Any, body: A.Block) -> tuple[Any, A.Block]:
        return (cond, body)

    def else_clause(self, meta: Any, body: A.Block) -> A.Block:
        return body

    def if_stmt(self, meta: Any, cond: Any, body: A.Block, *rest: Any) -> A.If:
        *elifs, orelse = rest
        return A.If(_span_of(meta), [(cond, body), *elifs], orelse)

    def for_stmt(self, meta: Any, var: Token, var2: Token | None, it: Any, body: A.Block) -> A.For:
        return A.For(_span_of(meta), str(var), str(var2) if var2 else None, it, body,
                     tuple(_tok_span(v) for v in (var, var2) if v is not None))

    def require_stmt(self, meta: Any, cond: Any, msg: Any) -> A.Require:
        return A.Require(_span_of(meta), cond, msg)

    def fail_stmt(self, meta: Any, msg: Any) -> A.Fail:
        return A.Fail(_span_of(meta), msg)

    def insert_stmt(self, meta: Any, target: Any, value: Any) -> A.Insert:
        return A.Insert(_span_of(meta), target, value)

    def delete_stmt(self, meta: Any, target: Any) -> A.Delete:
        return A.Delete(_span_of(meta), target)

    def append_stmt(self, meta: Any, value: Any, target: Any) -> A.Append:
        return A.Append(_span_of(meta), value, target)

    def remove_stmt(self, meta: Any, value: Any, target: Any) -> A.Remove:
        return A.Remove(_span_of(meta), value, target)

    def return_stmt(self, meta: Any, value: Any) -> A.Return:
        return A.Return(_span_of(meta), value)

    def break_stmt(self, meta: Any) -> A.Break:
        return A.Break(_span_of(meta))

    def continue_stmt(self, meta: Any) -> A.Continue:
        return A.Continue(_span_of(meta))

    def assign_stmt(self, meta: Any, target: Any, value: Any) -> A.Assign:
        return A.Assign(_span_of(meta), target, "=", value)

    def aug_assign_stmt(self, meta: Any, target: Any, op: Token, value: Any) -> A.Assign:
        return A.Assign(_span_of(meta), target, str(op), value)

    def call_stmt(self, meta: Any, call: Any) -> A.CallStmt:
        return A.CallStmt(_span_of(meta), call)

    # ---- expressions
    def cond(self, meta: Any, test: Any, then: Any, orelse: Any) -> A.Cond:
        return A.Cond(_span_of(meta), test, then, orelse)

    def coalesce(self, meta: Any, left: Any, right: Any) -> A.Coalesce:
        return A.Coalesce(_span_of(meta), left, right, False)

    def coalesce_fail(self, meta: Any, left: Any, right: Any) -> A.Coalesce:
        return A.Coalesce(_span_of(meta), left, right, True)

    def or_op(self, meta: Any, a: Any, b: Any) -> A.BinOp:
        return A.BinOp(_span_of(meta), "or", a, b)

    def and_op(self, meta: Any, a: Any, b: Any) -> A.BinOp:
        return A.BinOp(_span_of(meta), "and", a, b)

    def not_op(self, meta: Any, a: Any) -> A.UnOp:
        return A.UnOp(_span_of(meta), "not", a)

    def compare(self, meta: Any, a: Any, op: Token, b: Any) -> A.BinOp:
        return A.BinOp(_span_of(meta), str(op), a, b)

    def in_op(self, meta: Any, a: Any, b: Any) -> A.BinOp:
        return A.BinOp(_span_of(meta), "in", a, b)

    def not_in(self, meta: Any, a: Any, b: Any) -> A.BinOp:
        return A.BinOp(_span_of(meta), "not in", a, b)

    def is_variant(self, meta: Any, a: Any, name: Token) -> A.IsVariant:
        return A.IsVariant(_span_of(meta), a, str(name), _tok_span(name), False)

    def is_not_variant(self, meta: Any, a: Any, name: Token) -> A.IsVariant:
        return A.IsVariant(_span_of(meta), a, str(name), _tok_span(name), True)

    def binop(self, meta: Any, a: Any, op: Token, b: Any) -> A.BinOp:
        return A.BinOp(_span_of(meta), str(op), a, b)

    def neg(self, meta: Any, a: Any) -> A.Expr:
        # fold -literal so that `-1` is a literal (constants and defaults must be literals)
        if isinstance(a, A.Lit) and type(a.value) in (int, float):
            return A.Lit(_span_of(meta), -a.value)  # type: ignore[operator]
        return A.UnOp(_span_of(meta), "neg", a)

    def field_access(self, meta: Any, obj: Any, name: Token) -> A.Field:
        return A.Field(_span_of(meta), obj, str(name), _tok_span(name))

    def index(self, meta: Any, obj: Any, key: Any) -> A.Index:
        return A.Index(_span_of(meta), obj, key)

    def call(self, meta: Any, name: Token, *args: Any) -> A.Call:
        pos, kws = [], []
        for a in args:
            if a is None:
                continue
            if isinstance(a, tuple):
                kws.append(a)
            else:
                pos.append(a)
        return A.Call(_span_of(meta), str(name), _tok_span(name), pos, kws)

    def kwarg(self, meta: Any, name: Token, value: Any) -> tuple[str, Any, Span]:
        return (str(name), value, _tok_span(name))

    def int_lit(self, meta: Any, tok: Token) -> A.Lit:
        return A.Lit(_tok_span(tok), _int_of(tok))

    def float_lit(self, meta: Any, tok: Token) -> A.Lit:
        value = float(str(tok))
        if value in (float("inf"), float("-inf")):
            raise SpecSyntaxError("E0106", f"number {tok} is too large for a float", _tok_span(tok))
        return A.Lit(_tok_span(tok), value)

    def str_lit(self, meta: Any, lit: A.Lit) -> A.Lit:
        return lit

    def fstring(self, meta: Any, tok: Token) -> A.FStr:
        return self._fstring(tok)

    def true_lit(self, meta: Any) -> A.Lit:
        return A.Lit(_span_of(meta), True)

    def false_lit(self, meta: Any) -> A.Lit:
        return A.Lit(_span_of(meta), False)

    def null_lit(self, meta: Any) -> A.Lit:
        return A.Lit(_span_of(meta), None)

    def name(self, meta: Any, tok: Token) -> A.Name:
        return A.Name(_tok_span(tok), str(tok))

    def list_lit(self, meta: Any, *items: Any) -> A.ListLit:
        return A.ListLit(_span_of(meta), [i for i in items if i is not None])

    def pair(self, meta: Any, k: Any, v: Any) -> tuple[Any, Any]:
        return (k, v)

    def map_lit(self, meta: Any, *pairs: Any) -> A.MapLit:
        return A.MapLit(_span_of(meta), [p for p in pairs if p is not None])

    def comp_for(self, meta: Any, var: Token, var2: Token | None, it: Any, cond: Any) -> A.CompFor:
        return A.CompFor(_span_of(meta), str(var), str(var2) if var2 else None, it, cond,
                         tuple(_tok_span(v) for v in (var, var2) if v is not None))

    def list_comp(self, meta: Any, elt: Any, comp: A.CompFor) -> A.ListComp:
        return A.ListComp(_span_of(meta), elt, comp)

    def map_comp(self, meta: Any, k: Any, v: Any, comp: A.CompFor) -> A.MapComp:
        return A.MapComp(_span_of(meta), k, v, comp)


def _describe_expected(expected: set[str]) -> str:
    names = sorted({_TERMINAL_NAMES.get(t, f"'{t.lower()}'" if t.isalpha() else t) for t in expected})
    if len(names) > 8:
        names = names[:8] + ["..."]
    return ", ".join(names)


_DECLARATION_START = re.compile(
    r"^(domain|policy|seed|const|enum|record|union|state|invariant|generator|fn|read|write|rules)\b")


def parse_source(source: str, file: str, bag: DiagnosticBag) -> A.Module | None:
    """Parse one spec. On syntax errors, record diagnostics and return None.

    LALR parsing stops at the first error, so after a failure each top-level declaration is
    parsed on its own to report the first error of every broken declaration, not only the first
    of the file. Their positions stay exact: each piece is padded with the lines before it."""
    if len(source) > MAX_SPEC_BYTES:
        bag.error("E0704", f"the spec is {len(source)} characters long; the limit is {MAX_SPEC_BYTES}", file,
                  Span(1, 1, 1, 2), "split the domain, or move data into a seed file")
        return None
    bag.add_source(file, source)
    whole = DiagnosticBag()
    module = _parse_once(source, file, whole)
    if module is not None:
        return module
    pieces = DiagnosticBag()
    declarations = _declarations(source)
    for i, (first_line, text) in enumerate(declarations):
        piece = DiagnosticBag()
        _parse_once("\n" * (first_line - 1) + text, file, piece)
        for d in piece.items:
            if i < len(declarations) - 1 and d.code == "E0103":  # the end of this piece is not the file's
                d.message = d.message.replace("unexpected end of file", "the declaration ends unfinished")
        pieces.extend(piece.items)
    # per-declaration errors are more precise (an unclosed '{' is reported in its own declaration,
    # not where the next one starts); without any, the whole-file error stands
    bag.extend(pieces.items if pieces.items else whole.items)
    return None


def _declarations(source: str) -> list[tuple[int, str]]:
    """(first line, text) of each top-level declaration: a new one starts at a line beginning with a
    declaration keyword, outside triple-quoted text."""
    starts: list[int] = []
    in_long_string = False
    lines = source.split("\n")
    for i, line in enumerate(lines):
        if not in_long_string and _DECLARATION_START.match(line):
            starts.append(i)
        if line.count('"""') % 2 == 1:
            in_long_string = not in_long_string
    if not starts or starts[0] != 0:
        starts.insert(0, 0)
    bounds = starts + [len(lines)]
    return [(a + 1, "\n".join(lines[a:b])) for a, b in zip(bounds, bounds[1:]) if "\n".join(lines[a:b]).strip()]


_NAME_LIKE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _keyword_as_name(e: UnexpectedInput) -> bool:
    """Resume a parse where a keyword stands where a name may: `state: str "desc"` after a field with a
    description. The contextual lexer takes `state` as the keyword there because LALR shares the state
    after a string between every place a string can end, and a declaration may follow some of those.
    Feeding the token again as a NAME is what the lexer would have done in an unshared state."""
    if not isinstance(e, UnexpectedToken) or e.interactive_parser is None:
        return False
    tok = e.token
    if tok.type == "NAME" or "NAME" not in e.expected or not _NAME_LIKE.fullmatch(str(tok)):
        return False
    e.interactive_parser.feed_token(Token.new_borrow_pos("NAME", str(tok), tok))
    return True


def _int_of(tok: Token) -> int:
    """An integer literal, at most 64-bit like the JSON consumers of generated tools. Checked on the
    text, so a 5,000-digit literal costs nothing (int() of it would raise past 4,300 digits)."""
    digits = str(tok).lstrip("0") or "0"
    if len(digits) > 19 or int(digits) >= 2 ** 63:
        raise SpecSyntaxError("E0106", f"integer {digits[:20]}{'...' if len(digits) > 20 else ''} is out of range "
                              "(at most 9223372036854775807)", _tok_span(tok))
    return int(digits)


def _check_depth(tree: Tree) -> None:
    """Refuse a parse tree nested deeper than MAX_TREE_DEPTH (measured without recursion), before
    any recursive pass sees it: `1 + 1 + ... + 1` or blocks nested hundreds deep would otherwise
    exhaust Python's stack in the transformer, the checker or the code generator."""
    stack: list[tuple[Any, int]] = [(tree, 1)]
    while stack:
        node, depth = stack.pop()
        if not isinstance(node, Tree):
            continue
        if depth > MAX_TREE_DEPTH:
            line, col = _first_position(node)
            raise SpecSyntaxError("E0702", f"the spec nests deeper than {MAX_TREE_DEPTH} levels here",
                                  Span(line, col, line, col + 1))
        stack.extend((c, depth + 1) for c in node.children)


def _first_position(node: Tree) -> tuple[int, int]:
    meta = node.meta
    if not meta.empty:
        return meta.line, meta.column
    for tok in node.scan_values(lambda v: isinstance(v, Token)):
        return tok.line or 1, tok.column or 1
    return 1, 1


def _parse_once(source: str, file: str, bag: DiagnosticBag) -> A.Module | None:
    """One parse of the whole text: a module, or None with the first syntax error recorded."""
    comments: list[tuple[int, int, str]] = []
    try:
        parser = _lark()
        _COMMENT_SINK.clear()
        tree = parser.parse(source, start="start", on_error=_keyword_as_name)
        _check_depth(tree)
        comments = [(t.line or 1, t.column or 1, str(t)) for t in _COMMENT_SINK]
        _COMMENT_SINK.clear()
        decls = _ToAst(file, source).transform(tree)
    except VisitError as e:
        inner = e.orig_exc
        if isinstance(inner, SpecSyntaxError):
            bag.error(inner.code, inner.message, file, inner.span, inner.hint)
            return None
        raise
    except SpecSyntaxError as e:
        bag.error(e.code, e.message, file, e.span, e.hint)
        return None
    except UnexpectedCharacters as e:
        pos = e.pos_in_stream if e.pos_in_stream is not None else -1
        ch = source[pos] if 0 <= pos < len(source) else ""
        if ch in "\"'":
            bag.error("E0103", "unterminated string", file, Span(e.line, e.column, e.line, e.column + 1),
                      "close the string on the same line, or use \"\"\" for text over several lines")
        else:
            bag.error("E0102", f"unexpected character {ch!r}", file, Span(e.line, e.column, e.line, e.column + 1))
        return None
    except UnexpectedEOF as e:
        lines = source.splitlines() or [""]
        bag.error("E0103", f"unexpected end of file; expected {_describe_expected(set(e.expected))}", file,
                  Span(len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2))
        return None
    except UnexpectedToken as e:
        tok = e.token
        if tok.type == "$END":
            lines = source.splitlines() or [""]
            span = Span(len(lines), len(lines[-1]) + 1, len(lines), len(lines[-1]) + 2)
            bag.error("E0103", f"unexpected end of file; expected {_describe_expected(set(e.expected))}", file, span,
                      "a '{' may be missing its '}'")
        else:
            before = source[:tok.start_pos].split()
            line_start = source.rfind("\n", 0, tok.start_pos) + 1
            bag.error("E0101", f"unexpected {str(tok)!r}; expected {_describe_expected(set(e.expected))}", file,
                      _tok_span(tok), _syntax_hint(str(tok), set(e.expected), before[-1] if before else "",
                                                   source[line_start:tok.start_pos]))
        return None
    return A.Module(Span(1, 1, 1, 1), file, decls, comments)


def _syntax_hint(tok: str, expected: set[str], previous: str = "", line_before: str = "") -> str | None:
    """A hint for the common slips; `previous` is the word before the token, `line_before` the text of its
    line up to it."""
    if tok == "if" and previous == "else":
        return "write `elif COND { ... }` for another branch, not `else if`"
    if re.match(r"\s*while\b", line_before) or previous == "while":
        return "there is no `while`: loops must be bounded, use `for x in collection { ... }` or `for i in range(n)`"
    if tok == "=" and previous.endswith(('"', "'")):
        return 'the default comes before the description: `count: int = 0 "How many"`'
    if tok in ("def", "function", "func"):
        return "declare helpers with `fn NAME(params) -> TYPE { ... }` and tools with `read tool` or `write tool`"
    if tok == "tool" and previous in ("read", "write"):  # `read` was taken as a field name: a '}' is missing
        return "the declaration before this one may be missing its closing '}'"
    if tok == "tool":
        return "a tool needs its effect first: `read tool NAME(...)` or `write tool NAME(...)`"
    if tok in ("while", "loop"):
        return "loops must be bounded: use `for x in collection { ... }`"
    if tok in ("import", "from", "exec", "eval", "lambda", "class"):
        return "specs cannot import or run code; use the statements and builtins in docs/language.md"
    if tok == "=" and "EQUAL" not in expected and "COMP_OP" in expected:
        return "use == to compare"
    return None


def parse_file(path: Path, display: str, bag: DiagnosticBag) -> A.Module | None:
    try:
        raw = path.read_bytes()
        source = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        # point at the offending byte, showing the line with the bad bytes replaced
        line = raw.count(b"\n", 0, e.start) + 1
        col = len(raw[raw.rfind(b"\n", 0, e.start) + 1:e.start].decode("utf-8", "replace")) + 1
        bag.add_source(display, raw.decode("utf-8", "replace"))
        bag.error("E0607", f"{display} is not UTF-8 text (byte {e.start})", display, Span(line, col, line, col + 1))
        return None
    return parse_source(source, display, bag)
