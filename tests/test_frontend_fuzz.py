"""The front end never crashes: any text, parseable or not, gives diagnostics or a checked spec.

Three sources of input, all through hypothesis (derandomized, nothing written to .hypothesis/):
specs generated from envdsl's own grammar (hypothesis.extra.lark, with explicit strategies for
the terminals so the text lexes), real fixture specs with characters and tokens deleted,
duplicated or swapped, and random text and bytes. Each goes through compiler.check_spec (and,
when it checks, codegen) and through `envdsl check` on the command line. On grammar-generated
specs that parse, the formatter's invariants hold too: its output parses to the same tree and
comments, and formatting is idempotent.
"""

from __future__ import annotations

import re
import shutil
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.lark import from_lark
from lark import Lark
from testkit import FIXTURES

from envdsl import compiler as C
from envdsl.cli import main
from envdsl.lang.diagnostics import DiagnosticBag
from envdsl.lang.formatter import ast_shape, comment_texts, format_source
from envdsl.lang.parser import parse_source

GRAMMAR = Path(C.__file__).parent / "lang" / "grammar.lark"
FUZZ = settings(max_examples=40, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(HealthCheck))
DIAGNOSTIC_LINE = re.compile(r"^\S.*:\d+:\d+: (error|warning) E\d{4}: ", re.M)

# Names that are not reserved words, some of them builtin or type names the checker knows.
NAMES = ["x", "y", "n", "items", "Book", "book_id", "count", "str", "int", "float", "bool", "list", "map",
         "len", "sum", "books", "state", "type", "Status", "open", "collection", "by", "tool", "domain"]


def _space(s: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return s.map(lambda t: t + " ")  # generated tokens never run into each other


@lru_cache(maxsize=1)
def spec_text() -> st.SearchStrategy[str]:
    grammar = Lark(GRAMMAR.read_text(encoding="utf-8"), parser="lalr", start="start")
    explicit: dict[str, st.SearchStrategy[str]] = {
        "NAME": _space(st.sampled_from(NAMES)),
        "INT": _space(st.integers(0, 99).map(str)),
        "FLOAT": _space(st.sampled_from(["0.5", "1.0", "2.25", "1e3"])),
        "STRING": _space(st.sampled_from(['"a"', '"hello world"', "'q'", '"x\\ny"', '""', '"^b[0-9]{3}$"'])),
        "LONG_STRING": _space(st.sampled_from(['"""doc"""', '"""two\n  lines"""'])),
        "FSTRING": _space(st.sampled_from(['f"n={n}"', 'f"{x:.2f} left"', "f'plain'"])),
        "COMMENT": st.sampled_from(["# note\n", "#\n"]),
        "WS": st.sampled_from([" ", "\n", "  \n  "]),
    }
    for t in grammar.terminals:  # keywords and punctuation: as written, followed by a space
        if t.name not in explicit:
            if t.pattern.type == "str":
                explicit[t.name] = st.just(t.pattern.value + " ")
            else:
                explicit[t.name] = _space(st.from_regex(t.pattern.to_regexp(), fullmatch=True))
    return from_lark(grammar, start="start", explicit=explicit)


def fixture_specs() -> list[Path]:
    return sorted(p for p in FIXTURES.rglob("*.env") if p.is_file())


# ---- the properties -------------------------------------------------------------------------------
def front_end_survives(spec: Path) -> None:
    """check_spec gives a checked spec or diagnostics, codegen accepts what checks, and the CLI
    exits 0 or 1 with diagnostics, never a traceback."""
    bag = DiagnosticBag()
    compiled = C.check_spec(spec, bag)
    rendered = bag.render()
    if compiled is None:
        assert bag.has_errors, "check_spec failed without saying why"
        assert DIAGNOSTIC_LINE.search(rendered), rendered[:500]
    else:
        C.render(compiled, "fuzz")  # a checked spec always compiles to a package
        assert compiled.files["tools.py"]
    result = CliRunner().invoke(main, ["check", str(spec)])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert result.exit_code in (0, 1), (result.exit_code, result.output[-500:])
    assert (result.exit_code == 0) == (compiled is not None)
    if result.exit_code == 1:
        assert DIAGNOSTIC_LINE.search(result.stderr), result.stderr[:500]


def formatter_keeps_meaning(text: str) -> None:
    """On text that parses: the formatted text parses to the same tree and comments, and
    formatting it again changes nothing."""
    module = parse_source(text, "fuzz.env", DiagnosticBag())
    if module is None:
        return
    formatted = format_source(text, "fuzz.env", DiagnosticBag())
    assert formatted is not None
    again = parse_source(formatted, "fuzz.env", DiagnosticBag())
    assert again is not None, formatted
    assert ast_shape(again) == ast_shape(module)
    assert comment_texts(again) == comment_texts(module)
    assert format_source(formatted, "fuzz.env", DiagnosticBag()) == formatted


@pytest.fixture
def workdir() -> Any:
    d = Path(tempfile.mkdtemp(prefix="envdsl-fuzz-"))
    yield d
    shutil.rmtree(d, ignore_errors=True)


def _write(folder: Path, name: str, data: str | bytes) -> Path:
    path = folder / name
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data, encoding="utf-8", errors="surrogatepass")
    return path


# ---- grammar-generated specs ----------------------------------------------------------------------
def test_grammar_generated_specs_give_diagnostics_not_tracebacks(workdir: Path) -> None:
    parsed = [0]

    @FUZZ
    @given(spec_text())
    def run(text: str) -> None:
        if parse_source(text, "g.env", DiagnosticBag()) is not None:
            parsed[0] += 1
        front_end_survives(_write(workdir, "g.env", text))

    run()
    assert parsed[0] > 0, "the grammar strategy never produced text that parses: fix its terminals"


def test_formatter_invariants_on_grammar_generated_specs() -> None:
    @FUZZ
    @given(spec_text())
    def run(text: str) -> None:
        formatter_keeps_meaning(text)

    run()


# ---- mutated real specs ---------------------------------------------------------------------------
TOKEN = re.compile(r"\w+|\"[^\"\n]*\"|\S")


@st.composite
def mutated(draw: Any, source: str) -> str:
    """The source with one to three edits: characters or tokens deleted, duplicated or swapped."""
    text = source
    for _ in range(draw(st.integers(1, 3))):
        tokens = [m.span() for m in TOKEN.finditer(text)]
        op = draw(st.sampled_from(["del_chars", "dup_chars", "swap_chars", "del_token", "dup_token", "swap_tokens"]))
        if op.endswith("chars") and len(text) > 2:
            i = draw(st.integers(0, len(text) - 2))
            j = min(len(text), i + draw(st.integers(1, 8)))
            if op == "del_chars":
                text = text[:i] + text[j:]
            elif op == "dup_chars":
                text = text[:j] + text[i:j] + text[j:]
            else:
                text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
        elif tokens:
            a, b = tokens[draw(st.integers(0, len(tokens) - 1))]
            if op == "del_token":
                text = text[:a] + text[b:]
            elif op == "dup_token":
                text = text[:b] + " " + text[a:b] + text[b:]
            else:
                c, d = tokens[draw(st.integers(0, len(tokens) - 1))]
                if (a, b) > (c, d):
                    (a, b), (c, d) = (c, d), (a, b)
                if b <= c:
                    text = text[:a] + text[c:d] + text[b:c] + text[a:b] + text[d:]
    return text


@pytest.mark.parametrize("spec", fixture_specs(), ids=lambda p: p.stem)
def test_mutated_fixture_specs_give_diagnostics_not_tracebacks(spec: Path, workdir: Path) -> None:
    for sibling in spec.parent.iterdir():  # seeds and policy files, so the checker gets past them
        if sibling.is_file() and sibling.suffix in (".json", ".md"):
            shutil.copy(sibling, workdir / sibling.name)
    source = spec.read_text(encoding="utf-8")

    @settings(FUZZ, max_examples=25)
    @given(mutated(source))
    def run(text: str) -> None:
        front_end_survives(_write(workdir, spec.name, text))

    run()


# ---- random text and bytes ------------------------------------------------------------------------
def test_random_text_gives_diagnostics_not_tracebacks(workdir: Path) -> None:
    pieces = st.sampled_from(["domain", "record", "state", "{", "}", "(", ")", "<", ">", ":", "=", '"', "'",
                              '"""', "f\"", "@", "#", "\n", " ", "read tool", "->", "??", "..", "\\", "\t"])
    text = st.one_of(st.text(max_size=200), st.lists(st.one_of(pieces, st.text(max_size=3)), max_size=40)
                     .map("".join))

    @FUZZ
    @given(text)
    def run(t: str) -> None:
        front_end_survives(_write(workdir, "r.env", t))

    run()


def test_random_bytes_give_diagnostics_not_tracebacks(workdir: Path) -> None:
    @settings(FUZZ, max_examples=25)
    @given(st.one_of(st.binary(max_size=200), st.sampled_from([b"\xff\xfe", b"domain x\x00", b"\xef\xbb\xbfdomain d"])))
    def run(data: bytes) -> None:
        front_end_survives(_write(workdir, "b.env", data))

    run()


# ---- thousands of inputs per run: no internal error, and checked specs render to valid Python ------
def front_end_fast(spec: Path) -> str:
    """check_spec on one file, in process: diagnostics or a package whose every Python file compiles.
    Returns "ok" or "diagnostics"; any exception is an internal error and fails the test."""
    bag = DiagnosticBag()
    compiled = C.check_spec(spec, bag)
    if compiled is None:
        assert bag.has_errors and DIAGNOSTIC_LINE.search(bag.render()), bag.render()[:500]
        return "diagnostics"
    C.render(compiled, "fuzz")
    for name, data in compiled.files.items():
        if name.endswith(".py"):
            compile(data.decode("utf-8"), name, "exec")  # generated code always parses
    return "ok"


HOSTILE_PIECES = [
    '"\\ud800"', '"\\udfff x"', '"\\ud83d\\ude00"', "9" * 30, "9" * 5000, "1e999", "(" * 300, "[" * 300,
    "1 + " * 250 + "1", "not " * 300 + "true", '@pattern("^(a+)+$")', '@pattern("(a|aa)*")', '"\\0"', '"\\r"',
    '"""x\\"""', "f\"{" + "{" * 50, "if x {" * 150, "\x00", "\u2028", "\ufeff", "record class { id: str }",
    "record BaseModel { id: str }", "read tool class() -> int { return 1 }", "const C_X: int = 1",
    'seed "../../../etc/passwd"', 'policy file "/etc/passwd"', "enum def { \"a\" }",
]


def _mutations(rng: Any, sources: list[str], n: int) -> list[str]:
    out = []
    for _ in range(n):
        text = rng.choice(sources)
        for _ in range(rng.randint(1, 3)):
            op = rng.randrange(5)
            i = rng.randrange(len(text) + 1)
            if op == 0:
                text = text[:i] + text[i + rng.randint(1, 12):]
            elif op == 1:
                j = min(len(text), i + rng.randint(1, 30))
                text = text[:j] + text[i:j] + text[j:]
            elif op == 2:
                text = text[:i] + rng.choice(HOSTILE_PIECES) + text[i:]
            elif op == 3:
                text = text[:i] + " " + rng.choice(["{", "}", "(", ")", '"', "@", "??", "->", ":", "=", "\n"]) + \
                    text[i:]
            else:
                a, b = sorted(rng.randrange(len(text) + 1) for _ in range(2))
                text = text[:a] + text[b:] + text[a:b]
        out.append(text)
    return out


def test_thousands_of_mutated_and_hostile_specs_give_no_internal_error(workdir: Path) -> None:
    import random
    import time

    rng = random.Random(10)
    sources = [p.read_text(encoding="utf-8") for p in fixture_specs()]
    for spec in fixture_specs():
        for sibling in spec.parent.iterdir():
            if sibling.is_file() and sibling.suffix in (".json", ".md"):
                shutil.copy(sibling, workdir / sibling.name)
    texts = _mutations(rng, sources, 1000)
    small = ['domain d "x"\nconst K: int = 1\nrecord R { id: str  n: int = 0 }\nstate { rs: collection<R> by id }\n'
             'read tool t(x: int) -> int { return x + K }\n']
    texts += _mutations(rng, small, 800)
    t0 = time.perf_counter()
    outcomes = {"ok": 0, "diagnostics": 0}
    for i, text in enumerate(texts):
        try:
            outcomes[front_end_fast(_write(workdir, "m.env", text))] += 1
        except AssertionError:
            raise
        except Exception as e:  # an internal error: show the input that caused it
            raise AssertionError(f"input {i} crashed the front end: {type(e).__name__}: {e}\n{text[:2000]}") from e
    assert outcomes["ok"] > 40 and outcomes["diagnostics"] > 1000, outcomes
    assert time.perf_counter() - t0 < 600


def test_hundreds_of_grammar_generated_specs_give_no_internal_error(workdir: Path) -> None:
    outcomes = {"ok": 0, "diagnostics": 0}

    @settings(FUZZ, max_examples=300)
    @given(spec_text())
    def run(text: str) -> None:
        outcomes[front_end_fast(_write(workdir, "g.env", text))] += 1

    run()
    assert sum(outcomes.values()) >= 300, outcomes


@pytest.mark.parametrize("text", [
    "user read # note\ntool x ( ) { } ",  # found by the grammar fuzz under another hypothesis version
    "read tool x # c\n( ) { }",
    "read # c\ntool x ( ) \"Desc\" { }",
    "env # c\nfn z ( ) { }",
    "read tool x(a: int, # c\n b: str) \"D\" { }",
])
def test_formatter_is_idempotent_on_comments_in_the_head_of_a_function_with_no_result(text: str) -> None:
    formatter_keeps_meaning(text)
