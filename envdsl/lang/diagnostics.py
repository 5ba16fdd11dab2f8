"""The one registry of diagnostic codes, and how diagnostics are printed.

Every message the front end emits has a stable code listed here, so tests, docs and
users can rely on codes while wording improves. Codes are never reused: retire a code
by leaving it here with `retired=True`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterable


@dataclass(frozen=True)
class Code:
    code: str
    title: str
    hint: str | None = None


# E01xx: syntax and lexical. E02xx: names and declarations. E03xx: types.
# E04xx: effects, control flow and termination. E05xx: seed data. E06xx: tools and files.
# E07xx: limits and safety (untrusted input: paths outside the spec, nesting, sizes, backtracking).
_CODES = [
    Code("E0101", "syntax error", None),
    Code("E0102", "unexpected character", None),
    Code("E0103", "unterminated string or unexpected end of file", None),
    Code("E0104", "invalid escape sequence in string", "use one of \\n \\t \\r \\\\ \\\" \\' \\uXXXX"),
    Code("E0105", "invalid f-string", "put a single expression inside each {...}; write {{ and }} for literal braces"),
    Code("E0106", "number out of range", None),
    Code("E0107", "expression is not a statement", "statements start with let, if, for, require, fail, insert, delete, append, remove, return, or assign with ="),
    Code("E0201", "duplicate declaration", None),
    Code("E0202", "unknown name", None),
    Code("E0203", "unknown type", None),
    Code("E0204", "missing domain declaration", "start the file with: domain NAME \"description\""),
    Code("E0205", "duplicate field or parameter", None),
    Code("E0206", "unknown field", None),
    Code("E0207", "missing field in record construction", "give every field without a default"),
    Code("E0208", "invalid collection key", "the `by` field must be a str or int field of the record"),
    Code("E0209", "unknown function", None),
    Code("E0210", "wrong number of arguments", None),
    Code("E0211", "invalid annotation", "known annotations: @min(x) @max(x) @len(lo, hi) @pattern(\"regex\") @one_of(a, b, ...) @examples(a, b, ...)"),
    Code("E0212", "invalid name", "names must not start with an underscore and must not be a reserved word"),
    Code("E0213", "variable already defined", "choose another name; shadowing is not allowed"),
    Code("E0214", "invalid union variant", "each variant must be a record declared in this file, used by one union only"),
    Code("E0215", "unknown enum member", None),
    Code("E0216", "duplicate domain declaration", None),
    Code("E0301", "type mismatch", None),
    Code("E0302", "operator not defined for these types", None),
    Code("E0303", "condition is not a bool", None),
    Code("E0304", "not iterable", "loops run over a list, a map or a collection"),
    Code("E0305", "not indexable", None),
    Code("E0306", "no such field on this type", None),
    Code("E0307", "invalid `is` test", "`x is V` needs x of a union type and V one of its variants"),
    Code("E0308", "cannot assign to this expression", "assign to a local variable, a state field, or a field or key reached from one"),
    Code("E0309", "constant is not a literal", "constants must be literal values"),
    Code("E0310", "invalid default value", None),
    Code("E0311", "message is not a str", "a failure message must be a str, such as \"Order not found\" or f\"Order {id} not found\""),
    Code("E0312", "cannot infer the type of an empty literal or null", "annotate the variable: let xs: list<str> = []"),
    Code("E0313", "invalid reference type", "write ref<collection> with a collection declared in `state`"),
    Code("E0314", "invalid map key type", "map keys must be str, int or an enum"),
    Code("E0315", "invalid format specification", "use a spec such as .2f, d, >10 or ,"),
    Code("E0401", "read tool changes the state", "declare the tool `write`, or remove the change"),
    Code("E0402", "unreachable code", "remove the statements after return, fail, break or continue"),
    Code("E0403", "missing return", "every path through the body must end in return or fail"),
    Code("E0404", "recursion is not allowed", "functions may not call themselves, directly or through others"),
    Code("E0405", "break or continue outside a loop", None),
    Code("E0406", "call used as a statement has no effect", "only functions that change the state or can fail (require, fail, ?? fail) may be called as statements"),
    Code("E0407", "invariant or constant may not read tool state this way", None),
    Code("E0501", "seed file not found", None),
    Code("E0502", "seed file is not valid JSON", None),
    Code("E0503", "seed data does not match the state schema", None),
    Code("E0504", "seed data breaks a reference", None),
    Code("E0505", "seed collection key does not match the record's key field", None),
    Code("E0601", "policy file not found", None),
    Code("E0602", "no tools declared", "declare at least one `read tool` or `write tool`"),
    Code("E0603", "input path not found", None),
    Code("E0604", "duplicate domain name across inputs", "each domain name must be unique: it names its generated package"),
    Code("E0605", "generated code is stale", "run envdsl compile without --check to regenerate"),
    Code("E0606", "invalid generator", None),
    Code("E0607", "file is not UTF-8 text", None),
    Code("E0701", "file outside the spec's folder", "keep seed and policy files in the spec's folder or below it"),
    Code("E0702", "nested too deeply", "flatten the expression or data: split it with let, or into helper functions"),
    Code("E0703", "text that is not Unicode", "a lone UTF-16 surrogate (\\ud800-\\udfff) cannot be written as UTF-8"),
    Code("E0704", "input too large", None),
    Code("E0705", "pattern may take exponential time", "do not repeat a group that itself repeats, such as (a+)+ or (a|a)*"),
    Code("E0801", "policy rule stated twice", None),
    Code("E0802", "unknown collection in rules", None),
    Code("E0803", "unknown tool in rules", None),
    Code("E0804", "identification tool does not return a user", "an identification tool returns the user's key or record"),
    Code("E0805", "ownership path names an unknown field", None),
    Code("E0806", "ownership path does not lead to the user", None),
    Code("E0807", "confirmation rule on a tool that writes nothing", None),
    Code("E0808", "ownership rule without a user collection", "declare `user COLLECTION identified by TOOL` first"),
    Code("E0809", "recipient rule names no parameter of the tool", None),
    Code("E0810", "recipient rule on a read tool or on the user's own key", None),
    # E09xx: dates, conversions, functions with no result, untagged unions (docs/language.md)
    Code("E0901", "invalid date or datetime", "write a date as date(\"2024-05-01\") and a datetime as datetime(\"2024-05-01T09:30:00\"), days that the calendar has"),
    Code("E0902", "date arithmetic not defined for these operands", "date +/- int days gives a date, date - date gives the int days between; a datetime counts seconds"),
    Code("E0903", "cannot order a date with another kind", "compare a date with a date and a datetime with a datetime; convert with date(...) or datetime(...)"),
    Code("E0904", "invalid enum conversion", "Status(s) converts one str to a member of enum Status; an unknown value fails the call"),
    Code("E0906", "untagged union variant cannot be told apart", "each variant of an untagged union needs a field that no other variant has"),
    Code("E0905", "misuse of a function with no result", "a function declared without `-> T` is called as a statement and returns with a bare `return`"),
    # E10xx: two actors, environment functions and hooks
    Code("E1001", "tool writes the other actor's state", "let that actor's own tools, a hook or the task's set-up change it, or declare the field `shared`"),
    Code("E1002", "unknown or repeated name in `shared`", "name a state field of either actor, once"),
    # F01xx: fidelity (envdsl/proptest/fidelity.py): does a tool do what its name and source say
    Code("F0101", "parameter never read", "use the parameter in the body, or remove it"),
    Code("F0102", "parameter changes nothing", "a tool that ignores an input is a stub: make the result depend on it"),
    Code("F0103", "tool effect disagrees with its verb", "a tool whose name says it writes is a `write` tool; a read verb names a `read` tool"),
    Code("F0104", "write does not do what its verb says", "create inserts, update changes an existing entity, delete removes, cancel/close change a status"),
    Code("F0105", "lookup never resolves from the seed", "put values the tool looks up by (names, codes) into the seed"),
    Code("F0106", "records carry no data", "give the record the fields its API returns"),
    Code("F0107", "placeholder seed strings", "seed realistic values (names, emails, codes), not \"Job 2\""),
    Code("F0108", "seed numbers do not vary", "seed numbers that differ across records and fields"),
    Code("F0109", "source parameter missing", "every parameter of the source tool appears in the spec's tool, same type"),
    Code("F0110", "result lacks the source's response fields", "shape the record by the API's response schema"),
    # E11xx: data shapes (lang/shapes.py): fields that may be absent, collections keyed by the map key
    Code("E1101", "field may be absent", "test it first: if has(x.f) { ... }, or give a fallback: x.f ?? null"),
    Code("E1102", "field that may be absent has a default or is a union tag", None),
    Code("E1103", "delete of a field that is always present", "only a field declared `f?: T` can be deleted"),
    Code("E1104", "has() needs a field that may be absent", "write has(x.f) where f is declared `f?: T`"),
    Code("E1105", "state field declared absent", "a state field is always there; write `name: T?` for one that may be null"),
]

REGISTRY: dict[str, Code] = {c.code: c for c in _CODES}


@dataclass(frozen=True, order=True)
class Span:
    """A source range. Lines and columns are 1-based; end is exclusive."""

    line: int
    column: int
    end_line: int
    end_column: int

    def to_json(self) -> dict[str, int]:
        return {"line": self.line, "column": self.column, "end_line": self.end_line, "end_column": self.end_column}


NO_SPAN = Span(1, 1, 1, 1)


@dataclass
class Diagnostic:
    code: str
    message: str
    file: str
    span: Span
    severity: str = "error"
    hint: str | None = None
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.code not in REGISTRY:  # a programming error in envdsl itself
            raise KeyError(f"diagnostic code {self.code} is not registered")
        if self.hint is None:
            self.hint = REGISTRY[self.code].hint

    def sort_key(self) -> tuple[str, Span, str]:
        return (self.file, self.span, self.code)

    def to_json(self) -> dict[str, object]:
        return {
            "file": self.file,
            **self.span.to_json(),
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "hint": self.hint,
            "notes": list(self.notes),
        }

    def render(self, source: str | None) -> str:
        """`file:line:col: error E0123: message`, the source line, a caret, a hint."""
        out = [f"{self.file}:{self.span.line}:{self.span.column}: {self.severity} {self.code}: {self.message}"]
        line_text = _source_line(source, self.span.line)
        if line_text is not None:
            gutter = f"{self.span.line:>4} | "
            width = 1
            if self.span.end_line == self.span.line and self.span.end_column > self.span.column:
                width = self.span.end_column - self.span.column
            width = max(1, min(width, len(line_text) - self.span.column + 1))
            shown, column = _window(line_text, self.span.column)
            out.append(gutter + shown)
            width = max(1, min(width, len(shown) - column + 1))
            out.append(" " * len(gutter) + " " * (column - 1) + "^" * width)
        for note in self.notes:
            out.append(f"  note: {note}")
        if self.hint:
            out.append(f"  hint: {self.hint}")
        return "\n".join(out)


SHOWN_LINE = 100  # characters of a source line echoed under a diagnostic (a seed is often one long line)


def _window(text: str, column: int) -> tuple[str, int]:
    """The part of a long line around `column` (1-based), marked with `...` where cut, and the column
    within it; a short line as it is."""
    if len(text) <= SHOWN_LINE:
        return text, column
    start = max(0, min(column - 1 - SHOWN_LINE // 3, len(text) - SHOWN_LINE))
    end = start + SHOWN_LINE
    head = "..." if start > 0 else ""
    tail = "..." if end < len(text) else ""
    return head + text[start:end] + tail, column - start + len(head)


def _source_line(source: str | None, line: int) -> str | None:
    if source is None:
        return None
    lines = source.splitlines()
    if 1 <= line <= len(lines):
        return lines[line - 1].expandtabs(1)
    return None


class DiagnosticBag:
    """Collects diagnostics for one run, so a spec author sees every error at once."""

    def __init__(self) -> None:
        self.items: list[Diagnostic] = []
        self.sources: dict[str, str] = {}

    def add_source(self, file: str, text: str) -> None:
        self.sources[file] = text

    def error(self, code: str, message: str, file: str, span: Span, hint: str | None = None,
              notes: Iterable[str] = ()) -> Diagnostic:
        d = Diagnostic(code, message, file, span, "error", hint, list(notes))
        self.items.append(d)
        return d

    def extend(self, diags: Iterable[Diagnostic]) -> None:
        self.items.extend(diags)

    @property
    def has_errors(self) -> bool:
        return any(d.severity == "error" for d in self.items)

    def sorted(self) -> list[Diagnostic]:
        # dedupe identical reports (the same error reached twice through an alias)
        seen: set[tuple[object, ...]] = set()
        out = []
        for d in sorted(self.items, key=Diagnostic.sort_key):
            k = (d.file, d.span, d.code, d.message)
            if k not in seen:
                seen.add(k)
                out.append(d)
        return out

    def render(self) -> str:
        diags = self.sorted()
        parts = [d.render(self.sources.get(d.file)) for d in diags]
        n = sum(1 for d in diags if d.severity == "error")
        if n:
            parts.append(f"{n} error{'s' if n != 1 else ''}")
        return "\n\n".join(parts)

    def to_json(self) -> str:
        return json.dumps({"diagnostics": [d.to_json() for d in self.sorted()]}, indent=2, sort_keys=True)


class CompileError(Exception):
    """Raised inside the front end to stop at a fatal diagnostic already recorded."""
