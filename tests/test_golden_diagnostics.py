"""Golden diagnostics: each tests/golden/errors/<case>.env is a small bad spec, and <case>.errors
is exactly what `envdsl check` prints for it (stderr). ENVDSL_UPDATE_GOLDEN=1 rewrites the
.errors files instead of comparing; read the diff before committing one (tests/golden/README.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from testkit import REPO, run_cli, update_golden

from envdsl.lang.diagnostics import REGISTRY

GOLDEN = Path(__file__).resolve().parent / "golden" / "errors"
CASES = sorted(GOLDEN.glob("*.env"))

# Codes no single spec file can trigger through `envdsl check FILE`, each with the reason and the
# test that covers it instead.
NOT_FROM_ONE_FILE = {
    "E0603": "an input path that does not exist has no file to hold a case (test_cli_missing_input)",
    "E0604": "a domain name clash needs two spec files (test_cli_duplicate_domains)",
    "E0605": "staleness needs a compiled output folder (test_compile.py::test_check_detects_*)",
    "E0704": "a spec over the size limit is megabytes long (test_safety_limits.py::test_oversized_spec)",
    # fidelity findings come from running the compiled tools (`envdsl test`), not from `envdsl check`
    **{f"F01{n:02d}": "a fidelity finding of envdsl test (tests/test_fidelity.py)" for n in range(1, 11)},
}


def _rel(path: Path) -> str:
    return path.relative_to(REPO).as_posix()


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_golden_errors(case: Path, in_repo: Path) -> None:
    code, out, err = run_cli("check", _rel(case))
    assert code == 1, f"{case.name} was expected to fail; stdout: {out}"
    assert out == ""
    expected_file = case.with_suffix(".errors")
    if update_golden():
        expected_file.write_text(err, encoding="utf-8")
        return
    assert expected_file.exists(), f"no {expected_file.name}: run with ENVDSL_UPDATE_GOLDEN=1 and review it"
    assert err == expected_file.read_text(encoding="utf-8")


def _codes_in_goldens() -> set[str]:
    codes: set[str] = set()
    for f in GOLDEN.glob("*.errors"):
        codes.update(re.findall(r": error (E\d{4}): ", f.read_text(encoding="utf-8")))
    return codes


def test_every_registered_code_has_a_golden_case() -> None:
    missing = sorted(set(REGISTRY) - _codes_in_goldens() - set(NOT_FROM_ONE_FILE))
    assert missing == [], f"codes with no golden case (add tests/golden/errors/<case>.env): {missing}"


def test_allow_list_is_not_stale() -> None:
    # an allow-listed code that a golden case does trigger should leave the allow-list
    assert set(NOT_FROM_ONE_FILE) <= set(REGISTRY)
    assert not (set(NOT_FROM_ONE_FILE) & _codes_in_goldens())


def test_every_golden_case_has_an_expected_file() -> None:
    stray = sorted(f.name for f in GOLDEN.glob("*.errors") if not f.with_suffix(".env").exists())
    assert stray == []
    assert len(CASES) >= 40


def test_rendered_shape(in_repo: Path) -> None:
    """Every diagnostic block: header, numbered source line, a caret under the column, a hint line."""
    _, _, err = run_cli("check", _rel(GOLDEN / "unknown_names.env"))
    header = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+):(?P<col>\d+): error (?P<code>E\d{4}): .+$")
    blocks = err.rstrip("\n").split("\n\n")
    assert blocks[-1] == f"{len(blocks) - 1} errors"
    for block in blocks[:-1]:
        lines = block.split("\n")
        m = header.match(lines[0])
        assert m, lines[0]
        gutter, _, text = lines[1].partition(" | ")
        assert int(gutter) == int(m["line"])
        caret_row = lines[2]
        assert caret_row.index("^") == len(gutter) + 3 + int(m["col"]) - 1
        assert text == (REPO / m["file"]).read_text().splitlines()[int(m["line"]) - 1]


def test_json_format(in_repo: Path) -> None:
    code, out, err = run_cli("check", "--format", "json", _rel(GOLDEN / "shadowing.env"))
    assert code == 1
    assert err == ""
    data = json.loads(out)
    assert list(data) == ["diagnostics"]
    diags = data["diagnostics"]
    assert len(diags) == 4
    keys = {"file", "line", "column", "end_line", "end_column", "severity", "code", "message", "hint", "notes"}
    for d in diags:
        assert set(d) == keys
        assert d["severity"] == "error" and d["code"] == "E0213"
        assert d["file"] == "tests/golden/errors/shadowing.env"
        assert isinstance(d["line"], int) and isinstance(d["notes"], list)
    # sorted by position, and the positions agree with the text rendering
    assert [(d["line"], d["column"]) for d in diags] == sorted((d["line"], d["column"]) for d in diags)
    _, _, text = run_cli("check", _rel(GOLDEN / "shadowing.env"))
    for d in diags:
        assert f"{d['file']}:{d['line']}:{d['column']}: error {d['code']}: {d['message']}" in text


def test_json_format_ok_spec_prints_empty_list(in_repo: Path) -> None:
    code, out, _ = run_cli("check", "--format", "json", "tests/fixtures/shop/shop.env")
    assert code == 0
    assert json.loads(out) == {"diagnostics": []}


def test_cli_missing_input(in_repo: Path) -> None:
    code, _, err = run_cli("check", "tests/golden/no_such_file.env")
    assert code == 1
    assert err.startswith("tests/golden/no_such_file.env:1:1: error E0603: no such file or directory: "
                          "tests/golden/no_such_file.env\n")


def test_cli_duplicate_domains(in_repo: Path, tmp_path: Path) -> None:
    spec = (REPO / "tests/fixtures/shop/shop.env").read_text()
    seed = (REPO / "tests/fixtures/shop/shop.seed.json").read_text()
    for sub in ("a", "b"):
        (tmp_path / sub).mkdir()
        (tmp_path / sub / "shop.env").write_text(spec)
        (tmp_path / sub / "shop.seed.json").write_text(seed)
    code, _, err = run_cli("check", str(tmp_path / "a"), str(tmp_path / "b"))
    assert code == 1
    assert f"{tmp_path.as_posix()}/b/shop.env:1:1: error E0604: domain 'shop' is also declared in " \
           f"{tmp_path.as_posix()}/a/shop.env" in err
    assert err.rstrip().endswith("1 error")
