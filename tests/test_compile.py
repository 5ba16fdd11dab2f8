"""The compiler's outputs: snapshots of generated code, determinism, --check, skipping unchanged
specs, atomic writes, lint/type cleanliness, import hygiene and --emit ir.

Snapshots live in tests/snapshots/<domain>/<file>.snap; ENVDSL_UPDATE_GOLDEN=1 rewrites them.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import REPO, SHOP_SPEC, compile_to, run_cli, update_golden

SNAPSHOTS = Path(__file__).resolve().parent / "snapshots"
FINGERPRINT = ".envdsl-fingerprint"  # holds a digest of the compiler's own source: not snapshotted


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def shop_out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shop fixture compiled from the repository root (so its source path reads tests/...)."""
    out = tmp_path_factory.mktemp("shop_out")  # a valid package name: mypy walks up through __init__.py files
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(REPO)
        compile_to(SHOP_SPEC.relative_to(REPO), out)
    return out / "shop"


def _copy_fixture(dest: Path) -> Path:
    shutil.copytree(SHOP_SPEC.parent, dest)
    return dest / "shop.env"


# ---- snapshots ------------------------------------------------------------------------------
def test_generated_files_match_snapshots(shop_out: Path) -> None:
    generated = {k: v for k, v in _files(shop_out).items() if k != FINGERPRINT}
    snap_dir = SNAPSHOTS / "shop"
    if update_golden():
        shutil.rmtree(snap_dir, ignore_errors=True)
        snap_dir.mkdir(parents=True)
        for name, data in generated.items():
            (snap_dir / f"{name}.snap").write_bytes(data)
        return
    expected = {p.name[:-len(".snap")]: p.read_bytes() for p in sorted(snap_dir.glob("*.snap"))}
    assert sorted(generated) == sorted(expected)
    for name in generated:
        assert generated[name].decode() == expected[name].decode(), f"{name} differs from its snapshot"


def test_package_layout_and_fingerprint(shop_out: Path) -> None:
    names = set(_files(shop_out))
    assert {"__init__.py", "environment.py", "tools.py", "models.py", "tools.json", "seed.json", FINGERPRINT} <= names
    rec = json.loads((shop_out / FINGERPRINT).read_text())
    assert rec["spec"] == "tests/fixtures/shop/shop.env"
    assert set(rec["inputs"]) == {"shop.env", "shop.seed.json"}
    assert all(len(h) == 64 for h in rec["inputs"].values())


def test_compiling_twice_is_byte_identical(tmp_path: Path, in_repo: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    compile_to(SHOP_SPEC.relative_to(REPO), a)
    compile_to(SHOP_SPEC.relative_to(REPO), b)
    fa, fb = _files(a), _files(b)
    assert fa.keys() == fb.keys()
    assert all(fa[k] == fb[k] for k in fa)


# ---- the CLI: --check, unchanged specs, atomic writes ----------------------------------------------
def test_check_is_clean_right_after_compile(tmp_path: Path) -> None:
    spec, out = _copy_fixture(tmp_path / "src"), tmp_path / "gen"
    code, stdout, _ = run_cli("compile", str(spec), "-o", str(out))
    assert code == 0 and "compiled 1 domain(s), 0 unchanged" in stdout
    code, stdout, stderr = run_cli("compile", "--check", str(spec), "-o", str(out))
    assert (code, stderr) == (0, "")
    assert "1 domain(s) up to date" in stdout


def test_check_detects_an_edited_generated_file(tmp_path: Path) -> None:
    spec, out = _copy_fixture(tmp_path / "src"), tmp_path / "gen"
    assert run_cli("compile", str(spec), "-o", str(out))[0] == 0
    tools = out / "shop" / "tools.py"
    tools.write_text(tools.read_text() + "\n# hand edit\n")
    code, _, stderr = run_cli("compile", "--check", str(spec), "-o", str(out))
    assert code == 1
    assert "error E0605: " in stderr and "tools.py" in stderr
    assert "environment.py" not in stderr.split("\n")[0]  # only the edited file is named
    assert "# hand edit" in tools.read_text()  # --check writes nothing


def test_check_detects_a_changed_spec(tmp_path: Path) -> None:
    spec, out = _copy_fixture(tmp_path / "src"), tmp_path / "gen"
    assert run_cli("compile", str(spec), "-o", str(out))[0] == 0
    spec.write_text(spec.read_text().replace("const MAX_QTY: int = 5", "const MAX_QTY: int = 6"))
    code, _, stderr = run_cli("compile", "--check", str(spec), "-o", str(out))
    assert code == 1
    assert stderr.startswith(f"{spec.as_posix()}:1:1: error E0605: {out.as_posix()}/shop is stale: ")


def test_check_detects_a_changed_seed(tmp_path: Path) -> None:
    spec, out = _copy_fixture(tmp_path / "src"), tmp_path / "gen"
    assert run_cli("compile", str(spec), "-o", str(out))[0] == 0
    seed = spec.with_name("shop.seed.json")
    seed.write_text(seed.read_text().replace('"name": "Bob"', '"name": "Rob"'))
    code, _, stderr = run_cli("compile", "--check", str(spec), "-o", str(out))
    assert code == 1 and "E0605" in stderr and "seed.json" in stderr


def test_unchanged_specs_are_skipped(tmp_path: Path) -> None:
    spec, out = _copy_fixture(tmp_path / "src"), tmp_path / "gen"
    assert run_cli("compile", str(spec), "-o", str(out))[0] == 0
    before = (out / "shop" / "tools.py").stat().st_mtime_ns
    code, stdout, _ = run_cli("compile", str(spec), "-o", str(out))
    assert code == 0 and "compiled 0 domain(s), 1 unchanged" in stdout
    assert (out / "shop" / "tools.py").stat().st_mtime_ns == before
    # a change to an input makes it compile again; --force always does
    spec.write_text(spec.read_text() + "\n# a comment\n")
    assert "compiled 1 domain(s), 0 unchanged" in run_cli("compile", str(spec), "-o", str(out))[1]
    assert "compiled 1 domain(s), 0 unchanged" in run_cli("compile", "--force", str(spec), "-o", str(out))[1]


def test_json_summary_of_a_compile(tmp_path: Path) -> None:
    spec, out = _copy_fixture(tmp_path / "src"), tmp_path / "gen"
    code, stdout, _ = run_cli("compile", "--format", "json", str(spec), "-o", str(out))
    data = json.loads(stdout)
    assert code == 0
    assert (data["diagnostics"], data["compiled"], data["skipped"]) == ([], 1, 0)


def test_failed_compile_writes_nothing(tmp_path: Path) -> None:
    good = _copy_fixture(tmp_path / "src")
    bad = tmp_path / "src" / "broken.env"
    bad.write_text('domain broken "x"\nread tool t(x: int) -> int { return y }\n')
    out = tmp_path / "gen"
    code, stdout, stderr = run_cli("compile", str(tmp_path / "src"), "-o", str(out))
    assert code == 1 and "E0202" in stderr and stdout == ""
    assert not out.exists()  # the good spec was not written either: all or nothing
    # an existing package survives a failed recompile untouched
    bad.unlink()
    assert run_cli("compile", str(good), "-o", str(out))[0] == 0
    before = _files(out)
    good.write_text(good.read_text().replace("return find_product(sku)", "return find_product(skuu)"))
    code, _, stderr = run_cli("compile", str(good), "-o", str(out))
    assert code == 1 and "unknown name 'skuu'" in stderr
    assert _files(out) == before
    assert sorted(p.name for p in out.iterdir()) == ["__init__.py", "shop"]  # no temp folders left behind


# ---- the generated code itself ----------------------------------------------------------------
def _tool(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_generated_code_passes_ruff(shop_out: Path) -> None:
    # the project's rule set (pyproject: E, F, W, I, B); long data lines are allowed in generated code
    r = _tool("ruff", "check", "--isolated", "--select", "E,F,W,I,B", "--ignore", "E501", "--target-version",
              "py310", str(shop_out), cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr


def test_generated_code_passes_mypy(shop_out: Path, tmp_path: Path) -> None:
    # only the generated files are judged: imports into envdsl are followed silently
    r = _tool("mypy", "--follow-imports=silent", "--ignore-missing-imports", "--cache-dir", str(tmp_path / "cache"),
              "--no-error-summary", str(shop_out), cwd=REPO)
    assert r.returncode == 0, r.stdout + r.stderr


def test_generated_package_imports_only_runtime_pydantic_and_stdlib(shop_out: Path) -> None:
    allowed_roots = set(sys.stdlib_module_names) | {"pydantic", "__future__"}
    seen: set[str] = set()
    for py in sorted(shop_out.glob("*.py")):
        for node in ast.walk(ast.parse(py.read_text(), filename=str(py))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: inside the package itself
                    continue
                names = [node.module or ""]
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in (
                    "__import__", "exec", "eval", "compile"):
                raise AssertionError(f"{py.name} calls {node.func.id}")
            else:
                continue
            for name in names:
                seen.add(name)
                ok = name == "envdsl.runtime" or name.startswith("envdsl.runtime.") or \
                    name.split(".")[0] in allowed_roots
                assert ok, f"{py.name} imports {name}"
    assert "envdsl.runtime" in seen and "pydantic" in seen


def test_emit_ir_writes_valid_json(tmp_path: Path) -> None:
    spec, out = _copy_fixture(tmp_path / "src"), tmp_path / "gen"
    code, _, _ = run_cli("compile", "--emit", "ir", str(spec), "-o", str(out))
    assert code == 0
    assert not (out / "shop").exists()  # only the IR was asked for
    ir = json.loads((out / "shop.ir.json").read_text())
    assert ir["domain"] == {"name": "shop", "description": "A tiny shop: customers, products and orders"}
    assert [t["name"] for t in ir["tools"]] == ["get_product", "list_products", "place_order", "cancel_order", "pay",
                                                "payment_kind", "restock_all", "set_status", "churn"]
    assert {t["name"]: t["effect"] for t in ir["tools"]}["place_order"] == "write"
    assert [s["name"] for s in ir["state"]] == ["customers", "products", "orders", "payments", "next_note"]
    assert ir["consts"] == [{"name": "MAX_QTY", "type": {"k": "int"}, "value": 5},
                            {"name": "VAT", "type": {"k": "float"}, "value": 0.2}]
    assert ir["generator"] == {"counts": {"customers": [2, 4], "products": [2, 5], "orders": [0, 3]}}
    # both at once: the package and the IR
    code, _, _ = run_cli("compile", "--emit", "ir", "--emit", "python", str(spec), "-o", str(out))
    assert code == 0 and (out / "shop" / "tools.py").exists()


def test_policy_text_and_tool_schemas(shop_out: Path) -> None:
    schemas = json.loads((shop_out / "tools.json").read_text())
    place = next(s["function"] for s in schemas if s["function"]["name"] == "place_order")
    # a triple-quoted description loses the indentation of its continuation lines
    assert place["description"] == "Place an order for one product.\nThe stock goes down by qty."
    assert place["parameters"]["required"] == ["customer_id", "sku"]
    assert place["parameters"]["properties"]["qty"] == {"type": "integer", "minimum": 1, "maximum": 5, "default": 1}
    env_src = (shop_out / "environment.py").read_text()
    assert "POLICY = 'You help customers of a tiny shop.\\nNever sell more than the stock.'" in env_src


def test_check_ignores_a_fingerprint_from_another_compiler_version(tmp_path: Path) -> None:
    """A compiler refactor that changes no output must not make `--check` fail; a changed output must."""
    out = tmp_path / "gen"
    assert run_cli("compile", str(SHOP_SPEC), "-o", str(out))[0] == 0
    fp = out / "shop" / FINGERPRINT
    fp.write_text(fp.read_text().replace('"toolchain": "', '"toolchain": "0'), encoding="utf-8")
    assert run_cli("compile", str(SHOP_SPEC), "-o", str(out), "--check")[0] == 0
    tools = out / "shop" / "tools.py"
    tools.write_text(tools.read_text() + "\n# edited\n", encoding="utf-8")
    code, _, stderr = run_cli("compile", str(SHOP_SPEC), "-o", str(out), "--check")
    assert code == 1 and "tools.py" in stderr
