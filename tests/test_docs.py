"""The documentation is checked against the implementation.

- docs/language.md: every ```env block is a complete spec that checks clean; every ```env-fragment is
  declarations that check clean once wrapped in a domain; every ```env-error E0xxx block reports that
  code; every row of a table after `<!-- eval-table -->` is compiled and called, and its output must be
  the documented result.
- docs/diagnostics.md: every registered code is documented, and its ```env-error examples report it.
- docs/ir.md and docs/runtime.md exist and name what they describe.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from envdsl.lang.checker import check_module
from envdsl.lang.diagnostics import REGISTRY, DiagnosticBag
from envdsl.lang.parser import parse_source

DOCS = Path(__file__).resolve().parent.parent / "docs"
FENCE = re.compile(r"^```([A-Za-z0-9_-]*)[ \t]*([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
KNOWN_FENCES = {"env", "env-fragment", "env-error", "env-piece", "json", "python", "text", "bash", "console", ""}
FRAGMENT_DOMAIN = "domain fragment_example\n"
FRAGMENT_PROBE = "\nread tool fragment_probe() -> int { return 0 }\n"


def blocks(doc: str) -> list[tuple[str, str, str, int]]:
    """(kind, info after the kind, code, line) of every fenced block of a document."""
    text = (DOCS / doc).read_text(encoding="utf-8")
    return [(m.group(1), m.group(2).strip(), m.group(3), text.count("\n", 0, m.start()) + 1)
            for m in FENCE.finditer(text)]


def check(source: str) -> tuple[dict | None, list[str]]:
    """Parse and check a spec in memory: (IR or None, codes of its diagnostics)."""
    bag = DiagnosticBag()
    module = parse_source(source, "doc.env", bag)
    ir = check_module(module, bag) if module is not None else None
    return ir, [d.code for d in bag.sorted()]


def render(source: str) -> str:
    bag = DiagnosticBag()
    module = parse_source(source, "doc.env", bag)
    if module is not None:
        check_module(module, bag)
    return bag.render()


def _ids(items: list[tuple[str, str, str, int]]) -> list[str]:
    return [f"line{line}" for _, _, _, line in items]


LANGUAGE = blocks("language.md")
SPECS = [b for b in LANGUAGE if b[0] == "env"]
FRAGMENTS = [b for b in LANGUAGE if b[0] == "env-fragment"]
ERRORS = [b for b in LANGUAGE if b[0] == "env-error"]
DIAG_ERRORS = [b for b in blocks("diagnostics.md") if b[0] == "env-error"]


def test_language_doc_has_examples_of_each_kind() -> None:
    assert len(SPECS) >= 8 and len(FRAGMENTS) >= 5 and len(ERRORS) >= 5
    unknown = {kind for kind, _, _, _ in LANGUAGE} - KNOWN_FENCES
    assert not unknown, f"fences the test does not know how to check: {unknown}"


@pytest.mark.parametrize("kind,info,code,line", SPECS, ids=_ids(SPECS))
def test_complete_spec_checks_clean(kind: str, info: str, code: str, line: int) -> None:
    ir, codes = check(code)
    assert codes == [], f"docs/language.md:{line}\n{render(code)}"
    assert ir is not None and ir["tools"]


@pytest.mark.parametrize("kind,info,code,line", FRAGMENTS, ids=_ids(FRAGMENTS))
def test_fragment_checks_clean_in_a_domain(kind: str, info: str, code: str, line: int) -> None:
    assert not re.search(r"^\s*domain\s", code, re.M), "a fragment must not declare its domain"
    source = FRAGMENT_DOMAIN + code + FRAGMENT_PROBE
    ir, codes = check(source)
    assert codes == [], f"docs/language.md:{line}\n{render(source)}"
    assert ir is not None


@pytest.mark.parametrize("kind,info,code,line", ERRORS + DIAG_ERRORS, ids=_ids(ERRORS + DIAG_ERRORS))
def test_error_example_reports_its_code(kind: str, info: str, code: str, line: int) -> None:
    want = info.split()[0] if info else ""
    assert want in REGISTRY, f"line {line}: ```env-error needs a registered code, got {info!r}"
    _, codes = check(code)
    assert want in codes, f"line {line}: expected {want}, got {codes}\n{render(code)}"


# ---- evaluated tables ---------------------------------------------------------------
def eval_rows() -> list[tuple[str, str, str, int]]:
    """(expression, type, expected output, line) of every row of the tables marked eval-table."""
    lines = (DOCS / "language.md").read_text(encoding="utf-8").splitlines()
    rows = []
    for marker, text in enumerate(lines):
        if text.strip() != "<!-- eval-table -->":
            continue
        i = marker + 1
        while i < len(lines) and not lines[i].startswith("|"):  # blank lines before the table
            i += 1
        while i < len(lines) and lines[i].startswith("|"):
            cells = [c.strip() for c in lines[i].strip().strip("|").split("|")]
            i += 1
            if len(cells) != 3 or cells[0] == "Expression" or set(cells[0]) <= set("-: "):
                continue
            expr, typ, result = (c[1:-1] if c.startswith("`") and c.endswith("`") else c for c in cells)
            rows.append((expr, typ, result, i))
    return rows


ROWS = eval_rows()


@pytest.fixture(scope="module")
def eval_env(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    from envdsl.session import environment_from_spec

    tools = "\n".join(f"read tool row{i}() -> {typ} {{ return {expr} }}" for i, (expr, typ, _, _) in
                      enumerate(ROWS))
    spec = tmp_path_factory.mktemp("eval") / "eval_table.env"
    spec.write_text("domain eval_table\n" + tools + "\n", encoding="utf-8")
    _, codes = check(spec.read_text(encoding="utf-8"))
    assert codes == [], render(spec.read_text(encoding="utf-8"))
    return environment_from_spec(spec)


def test_eval_tables_are_found() -> None:
    assert len(ROWS) >= 60
    assert ("7 // 2", "int", "3", ROWS[1][3]) == ROWS[1]  # the parser reads cells as written


@pytest.mark.parametrize("index", range(len(ROWS)), ids=[f"line{r[3]}" for r in ROWS])
def test_documented_result(eval_env, index: int) -> None:  # type: ignore[no-untyped-def]
    expr, _, expected, line = ROWS[index]
    result = eval_env.call(f"row{index}", {})
    assert not result.internal_error, f"docs/language.md:{line}: {expr} -> {result.content}"
    assert result.content == expected, f"docs/language.md:{line}: {expr}"


# ---- whole examples that are run ------------------------------------------------------
def _spec_containing(marker: str) -> str:
    return next(code for kind, _, code, _ in SPECS if marker in code)


def test_library_example_behaves_as_documented(tmp_path: Path) -> None:
    from envdsl.session import environment_from_spec

    spec = tmp_path / "library.env"
    spec.write_text(_spec_containing("domain library"), encoding="utf-8")
    seed = next(code for kind, _, code, _ in LANGUAGE if kind == "json" and '"b001"' in code)
    (tmp_path / "library.seed.json").write_text(seed, encoding="utf-8")
    env = environment_from_spec(spec)
    r = env.call("lend", {"book_id": "b001", "member_id": "m1"})
    assert r.ok and r.value == {"loan_id": "loan_0001", "book_id": "b001", "member_id": "m1",
                                "due": "2024-01-01T00:00:00"}
    assert env.state()["books"]["b001"]["copies"] == 1
    assert env.call("lend", {"book_id": "b001", "member_id": "m1", "days": 0}).content == \
        "Error: invalid arguments for lend: days: must be at least 1, got 0"
    assert env.call("get_book", {"book_id": "zz"}).content == "Error: Book zz not found"
    # the seed was normalised: declared field order, defaults and nulls filled in
    assert list(env.state()["books"]["b001"]) == ["book_id", "title", "genre", "copies", "note", "tags"]


def test_references_example_returns_what_the_doc_says(tmp_path: Path) -> None:
    from envdsl.session import environment_from_spec

    spec = tmp_path / "refs.env"
    spec.write_text(_spec_containing("domain refs"), encoding="utf-8")
    env = environment_from_spec(spec)
    env.reset(state={"items": {"a": {"id": "a", "qty": 2}}})
    assert env.call("demo", {"id": "a"}).content == "[2, 12, 1]"
    assert env.state()["items"] == {"a": {"id": "a", "qty": 12}, "new": {"id": "new", "qty": 1}}


def test_union_example_puts_the_implicit_tag_first(tmp_path: Path) -> None:
    from envdsl.session import environment_from_spec

    spec = tmp_path / "payments.env"
    spec.write_text(_spec_containing("domain payments"), encoding="utf-8")
    env = environment_from_spec(spec)
    env.reset(state={"customers": {"c1": {"customer_id": "c1", "methods": {
        "g": {"source": "gift", "id": "g", "balance": 5}}}}})
    assert env.call("add_card", {"customer_id": "c1", "id": "k", "number": "1234"}).content == \
        '{"source": "card", "id": "k", "number": "1234"}'
    assert env.call("describe", {"customer_id": "c1", "id": "g"}).content == "gift card g with 5.00 left"
    assert env.call("describe", {"customer_id": "c1", "id": "k"}).content == "card k"


def test_annotation_example_schema(tmp_path: Path) -> None:
    from envdsl.codegen.openai_schema import tool_schemas

    code = next(code for kind, _, code, _ in FRAGMENTS if "write tool register" in code)
    ir, codes = check(FRAGMENT_DOMAIN + code + FRAGMENT_PROBE)
    assert codes == [] and ir is not None
    schema = next(s for s in tool_schemas(ir) if s["function"]["name"] == "register")
    props = schema["function"]["parameters"]["properties"]
    assert props["age"] == {"type": "integer", "minimum": 18, "default": 30}
    assert props["tags"] == {"type": "array", "items": {"type": "string"}, "minItems": 0, "maxItems": 3,
                             "default": []}
    assert schema["function"]["parameters"]["required"] == ["email"]


# ---- diagnostics.md -------------------------------------------------------------------------
def test_every_registered_code_is_documented() -> None:
    text = (DOCS / "diagnostics.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### ([EF]\d{4})\b", text, re.M))
    missing = sorted(set(REGISTRY) - headings)
    assert not missing, f"docs/diagnostics.md has no section for {missing}"
    unknown = sorted(headings - set(REGISTRY))
    assert not unknown, f"docs/diagnostics.md documents unregistered codes {unknown}"
    for code, entry in REGISTRY.items():
        assert entry.title in text, f"the title of {code} ({entry.title!r}) is not in docs/diagnostics.md"


def test_checker_codes_have_a_checked_example() -> None:
    """Every code the parser or checker reports (E01xx-E04xx, E0602, E0606) has an ```env-error example."""
    shown = {info.split()[0] for _, info, _, _ in DIAG_ERRORS}
    front_end = {c for c in REGISTRY if c[:3] in ("E01", "E02", "E03", "E04")} | {"E0602", "E0606"}
    assert sorted(front_end - shown) == []


# ---- ir.md and runtime.md ----------------------------------------------------------------------
def test_ir_doc_names_every_node_kind() -> None:
    text = (DOCS / "ir.md").read_text(encoding="utf-8")
    ir, codes = check(_spec_containing("domain statements"))
    assert codes == [] and ir is not None
    for key in ir:
        assert f"`{key}`" in text, f"top-level IR key {key} is not documented"
    checker = (Path(__file__).resolve().parent.parent / "envdsl" / "lang" / "checker.py").read_text()
    stmt_kinds = set(re.findall(r'\{"s": "(\w+)"', checker))
    expr_kinds = set(re.findall(r'\{"e": "(\w+)"', checker))
    assert {"let", "assign", "for", "insert"} <= stmt_kinds and {"lit", "fcall", "coalesce"} <= expr_kinds
    for kind in sorted(stmt_kinds | expr_kinds):
        assert f'"{kind}"' in text, f"IR node kind {kind!r} is not documented in docs/ir.md"


def test_runtime_doc_names_the_environment_api() -> None:
    from envdsl.runtime.environment import Environment

    text = (DOCS / "runtime.md").read_text(encoding="utf-8")
    methods = [n for n, v in vars(Environment).items()
               if not n.startswith("_") and (callable(v) or isinstance(v, (classmethod, staticmethod)))]
    assert {"call", "reset", "state", "snapshot", "restore", "state_hash", "state_errors"} <= set(methods)
    for name in methods:
        assert f"`{name}(" in text, f"Environment.{name} is not documented in docs/runtime.md"


def test_eval_results_are_json_where_the_type_is_not_str() -> None:
    for expr, typ, expected, line in ROWS:
        if typ != "str" and not expected.startswith("Error: "):
            try:  # a documented non-str result is what json.dumps prints
                json.loads(expected)
            except ValueError:
                pytest.fail(f"docs/language.md:{line}: the result of {expr} is not JSON: {expected}")


# ---- seed and policy files: the E05xx and E0601 entries of docs/diagnostics.md ------------------
SEED_SPEC = """domain seeded
seed "seeded.seed.json"
enum Genre { fiction, science }
record Book { book_id: str  genre: Genre  copies: int = 1  note: str? }
record Loan { loan_id: str  book_id: ref<books> }
state { books: collection<Book> by book_id  loans: collection<Loan> by loan_id  opened: bool = true }
read tool count_books() -> int { return len(books) }
"""


def _check_seeded(tmp_path: Path, seed: str | None, spec: str = SEED_SPEC) -> tuple[Any, list[str]]:
    from envdsl.compiler import check_spec

    (tmp_path / "seeded.env").write_text(spec, encoding="utf-8")
    if seed is not None:
        (tmp_path / "seeded.seed.json").write_text(seed, encoding="utf-8")
    bag = DiagnosticBag()
    compiled = check_spec(tmp_path / "seeded.env", bag)
    return compiled, [d.code for d in bag.sorted()]


@pytest.mark.parametrize("seed,code", [
    (None, "E0501"),
    ('{"books": {}, "loans": {}, "opened": true,}', "E0502"),
    ('{"books": {"b1": {"book_id": "b1", "genre": "poetry"}}, "loans": {}, "opened": true}', "E0503"),
    ('{"books": {}}', "E0503"),  # every collection must be present (state values with defaults may be left out)
    ('{"books": {}, "loans": {"l1": {"loan_id": "l1", "book_id": "b9"}}, "opened": true}', "E0504"),
    ('{"books": {"b1": {"book_id": "b2", "genre": "fiction"}}, "loans": {}, "opened": true}', "E0505"),
])
def test_seed_errors_have_the_documented_codes(tmp_path: Path, seed: str | None, code: str) -> None:
    compiled, codes = _check_seeded(tmp_path, seed)
    assert compiled is None and codes and set(codes) == {code}


def test_seed_is_normalised_as_documented(tmp_path: Path) -> None:
    seed = '{"loans": {}, "opened": false, "books": {"b1": {"genre": "science", "book_id": "b1"}}}'
    compiled, codes = _check_seeded(tmp_path, seed)
    assert codes == [] and compiled is not None
    # state fields and record fields in declared order, defaults and null filled in
    assert json.dumps(compiled.seed) == ('{"books": {"b1": {"book_id": "b1", "genre": "science", "copies": 1, '
                                         '"note": null}}, "loans": {}, "opened": false}')


def test_missing_policy_file_is_e0601(tmp_path: Path) -> None:
    spec = SEED_SPEC.replace('seed "seeded.seed.json"', 'policy file "absent.md"')
    compiled, codes = _check_seeded(tmp_path, None, spec)
    assert compiled is None and codes == ["E0601"]
    (tmp_path / "absent.md").write_text("# Policy\nBe kind.\n", encoding="utf-8")
    compiled, codes = _check_seeded(tmp_path, None, spec)
    assert codes == [] and compiled is not None and compiled.ir["policy"]["text"] == "# Policy\nBe kind.\n"
