"""`envdsl fmt`: the canonical layout keeps the parse tree, the checker's IR and every comment,
and formatting twice changes nothing. Checked over every spec in the repository and over
snippets written to hit the awkward corners (comments everywhere, parentheses, strings)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from envdsl.cli import main
from envdsl.lang import ast as A
from envdsl.lang.checker import check_module
from envdsl.lang.diagnostics import DiagnosticBag, Span
from envdsl.lang.formatter import _Ctx, _expr, format_files, format_module, format_source
from envdsl.lang.parser import parse_source

REPO = Path(__file__).resolve().parents[1]


# ---- helpers written independently of the formatter's own checks ---------------------
def strip_spans(node: Any) -> Any:
    """The tree with every position removed, keeping the Python type of each literal."""
    if isinstance(node, Span):
        return "<span>"
    if dataclasses.is_dataclass(node):
        return (type(node).__name__, {f.name: strip_spans(getattr(node, f.name)) for f in dataclasses.fields(node)
                                      if f.name not in ("span", "comments", "file")})
    if isinstance(node, (list, tuple)):
        return [strip_spans(x) for x in node if not isinstance(x, Span)]
    if isinstance(node, float):
        return ("float", repr(node))
    if isinstance(node, bool):
        return ("bool", node)
    if isinstance(node, int):
        return ("int", node)
    return node


def strip_lines(ir: Any) -> Any:
    """IR without its source line numbers (the formatter is allowed to move code between lines)."""
    if isinstance(ir, dict):
        return {k: strip_lines(v) for k, v in ir.items() if k != "line"}
    if isinstance(ir, list):
        return [strip_lines(x) for x in ir]
    return ir


def parse(source: str, name: str = "t.env") -> A.Module:
    bag = DiagnosticBag()
    module = parse_source(source, name, bag)
    assert module is not None, bag.render()
    return module


def fmt(source: str, name: str = "t.env") -> str:
    bag = DiagnosticBag()
    out = format_source(source, name, bag)
    assert out is not None, bag.render()
    return out


def comment_list(module: A.Module) -> list[str]:
    """Comment texts in source order (a CRLF file's comments end in a carriage return)."""
    return [text.rstrip() for _, _, text in sorted(module.comments)]


def assert_invariants(source: str, name: str = "t.env") -> str:
    once = fmt(source, name)
    before, after = parse(source, name), parse(once, name)
    assert format_module(after, once) == once, "formatting is not idempotent"
    assert comment_list(after) == comment_list(before), "comments lost or reordered"
    assert strip_spans(after) == strip_spans(before), "the parse tree changed"
    bag_before, bag_after = DiagnosticBag(), DiagnosticBag()
    ir_before, ir_after = check_module(before, bag_before), check_module(after, bag_after)
    if ir_before is not None:
        assert ir_after is not None, bag_after.render()
        assert strip_lines(ir_after) == strip_lines(ir_before), "the checker's IR changed"
    # messages may quote line numbers, which formatting moves: compare the codes
    assert sorted(d.code for d in bag_after.sorted()) == sorted(d.code for d in bag_before.sorted())
    return once


# ---- every spec in the repository (found when the tests run) --------------------------
def repo_specs() -> list[Path]:
    found: set[Path] = set()
    for pattern in ("specs/**/*.env", "examples/**/*.env", "tests/**/*.env"):
        found.update(REPO.glob(pattern))
    return sorted(found)


def _spec_source(path: Path) -> str | None:
    try:
        source = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return None
    return source if parse_source(source, path.name, DiagnosticBag()) is not None else None


PARSING_SPECS = [p for p in repo_specs() if _spec_source(p) is not None]


def test_the_repository_has_specs_to_format() -> None:
    assert PARSING_SPECS, "no .env file parses: the repository-wide tests below would check nothing"


@pytest.mark.parametrize("path", PARSING_SPECS, ids=lambda p: p.relative_to(REPO).as_posix())
def test_repository_spec_keeps_tree_ir_and_comments(path: Path) -> None:
    assert_invariants(path.read_text(encoding="utf-8"), path.relative_to(REPO).as_posix())


@pytest.mark.parametrize("path", [p for p in repo_specs() if p not in PARSING_SPECS],
                         ids=lambda p: p.relative_to(REPO).as_posix())
def test_unparsable_repository_file_is_reported_and_left_alone(path: Path, tmp_path: Path) -> None:
    copy = tmp_path / path.name
    copy.write_bytes(path.read_bytes())
    bag = DiagnosticBag()
    result = format_files([(copy, path.name)], bag, write=True)
    assert bag.has_errors and not result.changed and not result.failed
    assert copy.read_bytes() == path.read_bytes()


# ---- tricky snippets ----------------------------------------------------------------
FULL_SPEC = '''# header comment
# second header line

domain library "A lending library"   # trailing on domain
policy """
    Be **kind**.
      An indented line.

    Last line, after a blank one.
    """
const MAX_LOANS: int = 3
const RATE: float = -1.5e-7
const NAME: str = "it's \\"quoted\\" \\\\ back\\tslash\\nnewline"
enum Genre { "fiction", "science", history }   # mixed member styles
enum Tier "Membership tier" {
  # a comment among members
  standard,
  premium,   # trailing on a member
}
record Name { first: str "Given name"  last: str }
record Author { author_id: str  name: Name }
record Empty {}
record EmptyWithComment {
  # nothing here yet
}
record Book "A book" {
  book_id: str @pattern("^b[0-9]{3}$") "Book id, such as 'b001'"
  title: str @len(1, 200)
  genre: Genre   # trailing on genre


  copies: int @min(0) = 1                       # default
  note: str? = null                             # optional
  tags: list<str> = []
  prices: map<str, float> = {}
  author_id: ref<authors>
  # end of record comment
}
record Loan { loan_id: str book_id: str member_id: str days: int }
record Member { member_id: str loans: list<str> = [] }
record Card { id: str  number: str }
record Gift { id: str  balance: float }
union Payment by source "How a member pays" { "card": Card, "gift": Gift, }
state {
  books: collection<Book> by book_id "All books"
  authors: collection<Author> by author_id
  loans: collection<Loan> by loan_id
  members: collection<Member> by member_id   # members
  payments: map<str, Payment> = {}
  next_number: int = 1
}
invariant "copies are never negative": all([b.copies >= 0 for b in books])
invariant """A long invariant description
that spans two lines""": all([len(m.loans) <= MAX_LOANS for m in members])
generator { books: 5..20  authors: 2..6 }   # counts
fn find_book(book_id: str) -> Book {            # helper
  return books[book_id] ?? fail f"Book {book_id} not found {{literally}} {len(book_id):>5}"
}
fn score(a: int, b: int, c: float) -> float
{
  let x: float = (a + b) * c
  let y = a + (b * 2)
  let z = (a - b) - (a - b)
  let p = a ** (b ** 2)
  let q = (a ** b) ** 2
  let n = -(a ** 2) + (-a) ** 2 - -a
  let w = not (a > b and b > 0) or (not (a == 1)) and a in [1, 2] and b not in [3]
  let m = {"k": [i * 2 for i in range(3) if i % 2 == 0], "j": [x]}
  let mc = {str(i): i // 2 for i, v in [1, 2]}
  let t = if a > b then (if b > 0 then 1 else 2) else if a == b then 3 else 4
  let s = f"{a:>4}|{b:.2f}|{{}}|{ {'k': 1}['k'] }|{str(a) ?? 'none'}|{c:,}"
  return (x + y + z + p + q + n + c) / 2.0 % 7 + (if w then 1 else 0) + len(m) + len(mc) + t + len(s)
}
read tool get_book(book_id: str "The book id, such as 'b001'") -> Book
  "Get a book's details."
{
  return find_book(book_id)
}
write tool lend(
  book_id: str "The book",  # trailing on a parameter
  # own-line comment between parameters
  member_id: str "The member",
  days: int @min(1) @max(60) = 14 "How long"
) -> Loan
  """Lend a book.

  Several lines of description, with "quotes" and a \\ backslash."""
{
  let book = find_book(book_id)
  require book.copies > 0 else "No copies left"
  require (if days > 30 then days < 60 else true) else f"days {days} too long"
  let loan_id = new_id(loans, "loan_")          # deterministic ids
  let loan = Loan(loan_id=loan_id, book_id=book_id, member_id=member_id, days=days)
  insert loans[loan_id] = loan                  # fails if the key exists
  book.copies -= 1
  book.copies += 0
  book.copies *= 1
  if (book.copies + 1) * 2 > 3 and not (days > 3 or days < 2) {
    # comment in if
    book.copies = book.copies
  } elif -days ** 2 < (-1) ** 2 { book.copies = 1 }
  # a comment between a block and else
  else {
    # only a comment
  }
  for i, tag in book.tags {
    if i > 3 { break }
    if tag == "" { continue }
  }
  for k, v in book.prices { book.prices[k] = v * 2.0 }
  for a, b in zip(book.tags, book.tags) { require a == b else "never" }
  append loan_id to members[member_id].loans
  remove loan_id from members[member_id].loans
  append loan_id to members[member_id].loans
  return loan
  # final comment in block
}
write tool drop(loan_id: str) -> str {
  delete loans[loan_id]
  bump()
  fail "gone"
}
fn bump() -> int { next_number += 1
  return next_number }
# end of file comment'''


SNIPPETS = {
    "full_spec": FULL_SPEC,
    "only_comments": "# just a comment\n\n# and another\n",
    "empty": "",
    "no_final_newline": 'domain x "d"  # t',
    "crlf": 'domain x "d"\r\n# comment\r\nrecord R {\r\n  a: int  # ta\r\n}\r\n',
    "inline_everything": 'domain x record R { a: int b: str } state { rs: collection<R> by b } '
                         'read tool t(b: str) -> R { return rs[b] ?? fail "no" }',
    "comments_everywhere": '''domain x # c1
# c2
record R # c3
{ # c4
  a: int # c5
  # c6
  b: str # c7
  # c8
} # c9
fn f( # c10
  a: int, # c11
  # c12
  b: int # c13
  # c14
) # c15
-> int # c16
"desc" # c17
{ # c18
  let x = foo(a, # c19
    # c20
    b) # c21
  if a > b # c22
  { # c23
    return 1 # c24
  } # c25
  else # c26
  { # c27
    return 2 # c28
  } # c29
  # c30
} # c31
# c32
''',
    "strings": r'''domain x
const A: str = "tab\there"
const B: str = 'single "double" inside'
const C: str = "both ' and \" quotes"
const D: str = "back\\slash and \u0001 control and é unicode"
const E: str = """
    two
      lines
    """
const F: str = "line\nbreak\n"
const G: str = """ends with newline
"""
const H: str = "  leading spaces\n  on both lines"
record R """A record description
over two lines
""" {
  a: str = "x" """Field description
  with an indented second line"""
}
''',
    "fstrings": r'''domain x
fn f(a: int, m: map<str, int>) -> str {
  return f"{{a}} is {a} {a:>10} {a:.2f} {m['k'] ?? 0} {'x' + 'y'}" + f'{a} "q" {{}}' + f"\n\t\\{a}"
}
''',
    "nested_fstring": '''domain x
fn f(a: int) -> str {
  return f"outer {f'inner {a}'} done"
}
''',
}


@pytest.mark.parametrize("name", sorted(SNIPPETS))
def test_snippet_keeps_tree_ir_and_comments(name: str) -> None:
    assert_invariants(SNIPPETS[name])


def test_full_spec_checks_cleanly_so_its_ir_is_compared() -> None:
    bag = DiagnosticBag()
    assert check_module(parse(FULL_SPEC), bag) is not None, bag.render()


def test_comments_everywhere_survive_in_order() -> None:
    out = fmt(SNIPPETS["comments_everywhere"])
    texts = [ln.split("#", 1)[1].strip() for ln in out.splitlines() if "#" in ln]
    assert texts == [f"c{i}" for i in range(1, 33)]


# ---- exact layouts, worked out by hand ------------------------------------------------
def test_canonical_layout_of_a_small_spec() -> None:
    source = ('# top\ndomain shop "A shop"\nconst A: int = 1\nconst B: int = 2\n'
              'record Item { id: str  price: float @min(0) = 0.0 "Price" }   # items\n'
              'state { items: collection<Item> by id }\n'
              'read tool get(id: str) -> Item "Get one." {\n\n  let item = items[id] ?? fail "no"\n\n\n'
              '  # why\n  return item\n\n}\n')
    assert fmt(source) == (
        '# top\n'
        'domain shop "A shop"\n'
        '\n'
        'const A: int = 1\n'
        'const B: int = 2\n'
        '\n'
        'record Item {\n'
        '    id: str\n'
        '    price: float @min(0) = 0.0 "Price"\n'
        '}  # items\n'
        '\n'
        'state {\n'
        '    items: collection<Item> by id\n'
        '}\n'
        '\n'
        'read tool get(id: str) -> Item\n'
        '    "Get one."\n'
        '{\n'
        '    let item = items[id] ?? fail "no"\n'
        '\n'
        '    # why\n'
        '    return item\n'
        '}\n')


def test_long_parameter_lists_go_one_a_line_with_a_trailing_comma() -> None:
    long_desc = "x" * 80
    source = f'domain d\nfn f(a: int "{long_desc}", b: int) -> int {{ return a }}\n'
    assert fmt(source) == (
        'domain d\n\n'
        'fn f(\n'
        f'    a: int "{long_desc}",\n'
        '    b: int,\n'
        ') -> int {\n'
        '    return a\n'
        '}\n')


def test_if_elif_else_chain_layout() -> None:
    source = 'domain d\nfn f(a: int) -> int { if a > 1 { return 1 } elif a > 0 { return 2 } else { return 3 } }\n'
    assert fmt(source).split("\n")[3:11] == [
        "    if a > 1 {", "        return 1", "    } elif a > 0 {", "        return 2", "    } else {",
        "        return 3", "    }", "}"]


def _const_expr(text: str) -> str:
    line = fmt(f"domain d\nconst X: int = {text}\n").splitlines()[2]
    assert line.startswith("const X: int = ")
    return line[len("const X: int = "):]


@pytest.mark.parametrize("source, expected", [
    ("(a + b) * c", "(a + b) * c"),
    ("a + (b * c)", "a + b * c"),
    ("(a - b) - c", "a - b - c"),
    ("a - (b - c)", "a - (b - c)"),
    ("a / (b * c)", "a / (b * c)"),
    ("not (a and b)", "not (a and b)"),
    ("(not a) and b", "not a and b"),
    ("(a or b) and c", "(a or b) and c"),
    ("a or (b and c)", "a or b and c"),
    ("-(x ** 2)", "-x ** 2"),
    ("(-x) ** 2", "(-x) ** 2"),
    ("(-1) ** 2", "(-1) ** 2"),
    ("a ** (b ** c)", "a ** b ** c"),
    ("(a ** b) ** c", "(a ** b) ** c"),
    ("-(-x)", "-(-x)"),
    ("a - (-1)", "a - -1"),
    ("(a < b) == c", "(a < b) == c"),
    ("(a + 1) in xs", "a + 1 in xs"),
    ("(a ?? b) ?? c", "(a ?? b) ?? c"),
    ("a ?? (b ?? c)", "a ?? b ?? c"),
    ("(a ?? b).c", "(a ?? b).c"),
    ("(x is Card) and y", "x is Card and y"),
    ("(a + b) is not Card", "a + b is not Card"),
    ("(a < b) is Card", "(a < b) is Card"),
    ("(if a then b else c) + 1", "(if a then b else c) + 1"),
    ("f((a), [(b)], {(c): (d)})", "f(a, [b], {c: d})"),
    ("[x for x in (a ?? b) if (x > 1)]", "[x for x in (a ?? b) if x > 1]"),
    ("1.50", "1.5"),
    ("2e3", "2000.0"),
    ("  a  +b*c  ", "a + b * c"),
])
def test_minimal_parentheses(source: str, expected: str) -> None:
    assert _const_expr(source) == expected


@pytest.mark.parametrize("source, expected", [
    ('"plain"', '"plain"'),
    ("'single'", '"single"'),
    ('"say \\"hi\\""', "'say \"hi\"'"),
    ("\"both ' and \\\" \"", '"both \' and \\" "'),
    ('"a\\\\b"', '"a\\\\b"'),
    ('"tab\\there\\nnew"', '"tab\\there\\nnew"'),
    ('"\\u0001"', '"\\u0001"'),
    ('"""x\ny"""', '"x\\ny"'),  # expression strings stay on one line
    ('f"{a:>4} {{b}} {m[\'k\']}"', 'f"{a:>4} {{b}} {m[\'k\']}"'),
    ("f'{a} \"q\"'", 'f"{a} \\"q\\""'),
])
def test_string_literals(source: str, expected: str) -> None:
    assert _const_expr(source) == expected


def test_multiline_description_becomes_a_dedented_triple_quoted_block() -> None:
    out = fmt('domain d "first line\\n  second, indented\\n\\nfourth"\n')
    assert out == 'domain d """\n    first line\n      second, indented\n\n    fourth\n    """\n'


def test_text_that_a_triple_quoted_block_cannot_hold_stays_escaped() -> None:
    # every line indented: the parser's dedent would eat the indentation
    assert fmt('domain d "  a\\n  b"\n') == 'domain d "  a\\n  b"\n'


# ---- random expression trees: print, parse, compare -------------------------------------
S = Span(1, 1, 1, 1)
NAMES = st.sampled_from(["a", "b", "xs"]).map(lambda n: A.Name(S, n))
LEAVES = st.one_of(NAMES, st.integers(-3, 3).map(lambda v: A.Lit(S, v)),
                   st.sampled_from([0.5, -2.5, True, None, "s'\"\\\n{}"]).map(lambda v: A.Lit(S, v)))


def _extend(children: st.SearchStrategy) -> st.SearchStrategy:
    ops = st.sampled_from(["+", "-", "*", "/", "//", "%", "**", "==", "<", "in", "not in", "and", "or"])
    return st.one_of(
        st.builds(lambda op, left, right: A.BinOp(S, op, left, right), ops, children, children),
        st.builds(lambda x: A.UnOp(S, "not", x), children),
        # the parser folds -<number literal> into a literal, so no UnOp wraps one
        st.builds(lambda x: A.UnOp(S, "neg", x), children.filter(
            lambda x: not (isinstance(x, A.Lit) and type(x.value) in (int, float)))),
        st.builds(lambda x, neg: A.IsVariant(S, x, "Card", S, neg), children, st.booleans()),
        st.builds(lambda t, a, b: A.Cond(S, t, a, b), children, children, children),
        st.builds(lambda a, b, f: A.Coalesce(S, a, b, f), children, children, st.booleans()),
        st.builds(lambda x: A.Field(S, x, "f", S), children),
        st.builds(lambda x, k: A.Index(S, x, k), children, children),
        st.builds(lambda xs: A.Call(S, "g", S, xs, []), st.lists(children, max_size=2)),
        st.builds(lambda xs: A.ListLit(S, xs), st.lists(children, max_size=2)),
        st.builds(lambda k, v: A.MapLit(S, [(k, v)]), children, children),
        st.builds(lambda e, it, c: A.ListComp(S, e, A.CompFor(S, "i", None, it, c)), children, children,
                  st.one_of(st.none(), children)),
        # no f-string inside an f-string: a string in there would need a third kind of quote
        st.builds(lambda x: A.FStr(S, ["t{", (x, ""), "}"]), children.filter(lambda x: "FStr" not in repr(x))),
    )


EXPRS = st.recursive(LEAVES, _extend, max_leaves=12)


@settings(max_examples=400, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(EXPRS)
def test_printed_expressions_parse_back_to_the_same_tree(expr: A.Expr) -> None:
    text = _expr(expr, 0, _Ctx())
    module = parse(f"domain d\nconst X: int = {text}\n")
    assert strip_spans(module.decls[1].value) == strip_spans(expr), text


# ---- the command line ------------------------------------------------------------------
UNFORMATTED = 'domain shop  "A shop"\nrecord Item { id: str }   # items\n'


def test_cli_check_exits_1_on_unformatted_and_0_on_formatted(tmp_path: Path) -> None:
    spec = tmp_path / "shop.env"
    spec.write_text(UNFORMATTED, encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(main, ["fmt", "--check", str(spec)])
    assert result.exit_code == 1, result.output
    assert "would reformat" in result.output and "shop.env" in result.output
    assert spec.read_text(encoding="utf-8") == UNFORMATTED  # --check writes nothing

    result = runner.invoke(main, ["fmt", str(spec)])
    assert result.exit_code == 0, result.output
    assert spec.read_text(encoding="utf-8") == fmt(UNFORMATTED)
    assert spec.read_text(encoding="utf-8") != UNFORMATTED
    assert [p.name for p in tmp_path.iterdir()] == ["shop.env"]  # no temporary file left behind

    result = runner.invoke(main, ["fmt", "--check", str(spec)])
    assert result.exit_code == 0, result.output
    assert "0 file(s) would be reformatted, 1 unchanged" in result.output


def test_cli_searches_directories_recursively_for_env_files(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (nested / "deep.env").write_text(UNFORMATTED, encoding="utf-8")
    (nested / "notes.txt").write_text(UNFORMATTED, encoding="utf-8")
    result = CliRunner().invoke(main, ["fmt", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (nested / "deep.env").read_text(encoding="utf-8") == fmt(UNFORMATTED)
    assert (nested / "notes.txt").read_text(encoding="utf-8") == UNFORMATTED


def test_cli_leaves_a_file_with_a_syntax_error_untouched(tmp_path: Path) -> None:
    bad = tmp_path / "bad.env"
    source = "domain  x\nrecord {\n"
    bad.write_text(source, encoding="utf-8")
    good = tmp_path / "good.env"
    good.write_text(UNFORMATTED, encoding="utf-8")
    result = CliRunner().invoke(main, ["fmt", str(bad), str(good)])
    assert result.exit_code == 1
    assert "bad.env:2:8: error E0101" in result.output
    assert "Traceback" not in result.output
    assert bad.read_text(encoding="utf-8") == source
    assert good.read_text(encoding="utf-8") == fmt(UNFORMATTED)  # other files are still formatted


def test_cli_reports_a_missing_path(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["fmt", str(tmp_path / "nope.env")])
    assert result.exit_code == 1
    assert "E0603" in result.output
