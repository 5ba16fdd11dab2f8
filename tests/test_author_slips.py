"""Front-end cases new spec authors tripped on (issue 11): each accepted form with its nearest rejected one.
The rejected forms with their exact messages and hints are golden cases in tests/golden/errors
(description_before_default, else_if, while_condition, let_null, seed_int_key, seed_long_line,
all_errors_at_once)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from test_checker_rules import codes

from envdsl.compiler import display_path
from envdsl.lang.checker import check_module
from envdsl.lang.diagnostics import Diagnostic, DiagnosticBag, Span
from envdsl.lang.parser import parse_source


def check(text: str) -> list[str]:
    bag = DiagnosticBag()
    module = parse_source(text, "t.env", bag)
    if module is not None:
        check_module(module, bag)
    return [f"{d.code} {d.message}" for d in bag.sorted()]


TAIL = '''state { jobs: collection<Job> by job_id }
read tool get(job_id: str) -> Job { return jobs[job_id] ?? fail "no job" }
'''


@pytest.mark.parametrize("fields", [
    'job_id: str "The id"  state: str "Where it is"',  # after a description (the reported case)
    'job_id: str  n: int = 0  state: str',  # after a default
    'job_id: str  n: float = 1.5 "Weight"  domain: str  record: str? = null  seed: int = 2',
])
def test_fields_may_be_named_like_declaration_keywords(fields: str) -> None:
    spec = f'domain d\nrecord Job {{ {fields} }}\n{TAIL}'
    assert check(spec) == []
    module = parse_source(spec, "t.env", DiagnosticBag())
    assert module is not None
    record = next(d for d in module.decls if type(d).__name__ == "RecordDecl")
    assert "state" in [f.name for f in record.fields] or "domain" in [f.name for f in record.fields]


def test_a_keyword_where_no_name_fits_is_still_a_syntax_error() -> None:
    assert check(f'domain d\nrecord Job {{ job_id: str "The id" state }}\n{TAIL}') == [
        "E0101 unexpected '}'; expected ':', '?'"]  # `state: T` or `state?: T` (a field that may be absent)
    # a parameter list takes no bare keyword either
    found = check('domain d\nread tool t(x: int "X" state) -> int { return x }\n')
    assert len(found) == 1 and found[0].startswith("E0101 unexpected 'state'")


def test_a_member_literal_is_the_enum_in_coalesce_and_map_index() -> None:
    ok = '''write tool set(id: str, s: Status?, weights: map<Status, float>) -> float {
    let a = accts[id] ?? fail "no"
    a.status = s ?? "open"
    return weights["frozen"] ?? 0.0
}'''
    assert codes(ok) == []
    assert codes(ok.replace('s ?? "open"', 's ?? "shut"')) == ["E0215"]  # not a member
    assert codes(ok.replace('weights["frozen"]', 'weights["melted"]')) == ["E0215"]
    assert codes(ok.replace('weights["frozen"]', 'weights[id]')) == ["E0301"]  # a str variable is not the enum
    counts = '''write tool bump(id: str) -> int {
    let c: map<Status, int> = {}
    c["open"] = 1
    return c["open"] ?? 0
}'''
    assert codes(counts) == []


def test_let_null_is_reported_where_it_is_declared_only() -> None:
    body = '''read tool best() -> str {
    let x = null
    for a in values(accts) { if a.balance > 1.0 { x = a.acct_id } }
    return x ?? "none"
}'''
    assert codes(body) == ["E0312"]  # one error, at the let; no cascade at the assignment or the return
    assert codes(body.replace("let x = null", "let x: str? = null")) == []


def test_a_parameter_may_have_a_state_fields_name_and_hides_it_in_that_body() -> None:
    ok = '''const LIMIT: int = 3
fn all_accts() -> int { return len(accts) }
read tool tally(accts: list<str>, LIMIT: int) -> int { return len(accts) + LIMIT + all_accts() }'''
    assert codes(ok) == []
    assert codes('read tool t(id: str) -> int { let accts = 1  return accts }') == ["E0213"]  # a local may not


def test_paths_in_messages_are_relative_to_the_working_directory(tmp_path: Path,
                                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "specs" / "a").mkdir(parents=True)
    (tmp_path / "work").mkdir()
    spec = tmp_path / "specs" / "a" / "x.env"
    monkeypatch.chdir(tmp_path / "work")
    assert display_path(spec) == "../specs/a/x.env"  # absolute in, relative out
    monkeypatch.chdir(tmp_path)
    assert display_path(spec) == "specs/a/x.env"
    assert display_path(Path("specs/a/x.env")) == "specs/a/x.env"
    monkeypatch.chdir("/")
    assert display_path(spec) == spec.relative_to("/").as_posix()
    assert os.path.isabs(str(spec))


def test_long_source_lines_are_cut_around_the_error() -> None:
    line = "x" * 300 + "ERR" + "y" * 300
    d = Diagnostic("E0503", "bad", "s.json", Span(1, 301, 1, 304), "error")
    echoed, caret = d.render(line).splitlines()[1:3]
    assert len(echoed) < 120 and echoed.startswith("   1 | ...") and echoed.endswith("...")
    assert echoed[caret.index("^"):caret.index("^") + 3] == "ERR" and caret.count("^") == 3
    short = Diagnostic("E0503", "bad", "s.json", Span(1, 3, 1, 4), "error").render("ab!cd")
    assert short.splitlines()[1] == "   1 | ab!cd"
