"""A domain named with a Python keyword (`domain class`) is a valid spec; its package must still import
with a plain `import generated.<package>`, so keywords get a trailing underscore (envdsl/ir/package_name.py)."""

from __future__ import annotations

import keyword
import subprocess
import sys
from pathlib import Path

from testkit import run_cli

from envdsl.ir.package_name import package_name
from envdsl.session import environment_from_spec


def test_keywords_get_an_underscore_and_other_names_stay() -> None:
    assert package_name("class") == "class_"
    assert package_name("None") == "None_"
    assert package_name("class_") == "class__"  # so that `class` and `class_` never share a package
    assert package_name("class__") == "class___"
    for name in ("bank", "tau2_retail", "classes", "match", "type", "_", "if_then", "x_"):
        assert package_name(name) == name


def test_the_map_is_injective_and_never_gives_a_keyword() -> None:
    names = [kw + "_" * n for kw in keyword.kwlist for n in range(4)] + ["bank", "match", "iff", "_"]
    packages = [package_name(n) for n in names]
    assert len(set(packages)) == len(names)
    assert all(p.isidentifier() and not keyword.iskeyword(p) for p in packages)


def _spec(folder: Path, domain: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{domain}.env"
    path.write_text(f"domain {domain}\nread tool ping() -> str {{ return \"{domain}\" }}\n", encoding="utf-8")
    return path


def test_keyword_domains_compile_and_import_plainly(tmp_path: Path) -> None:
    specs = [_spec(tmp_path / "specs" / d, d) for d in ("class", "class_", "import")]
    out = tmp_path / "generated"
    code, _, err = run_cli("compile", *map(str, specs), "-o", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir() if p.is_dir()) == ["class_", "class__", "import_"]
    program = ("import generated.class_, generated.class__, generated.import_\n"
               "for m in (generated.class_, generated.class__, generated.import_):\n"
               "    env = m.ENVIRONMENT()\n"
               "    print(env.DOMAIN, env.call('ping', {}).content)\n")
    run = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stderr
    # the domain keeps its name: only the package folder differs
    assert run.stdout.splitlines() == ["class class", "class_ class_", "import import"]
    code, out_text, err = run_cli("compile", *map(str, specs), "-o", str(out), "--check")
    assert code == 0, err + out_text


def test_a_keyword_domain_loads_from_its_spec_and_its_package(tmp_path: Path) -> None:
    spec = _spec(tmp_path / "specs", "while")
    assert environment_from_spec(spec).call("ping", {}).content == "while"
    code, _, err = run_cli("compile", str(spec), "-o", str(tmp_path / "generated"))
    assert code == 0, err
    assert environment_from_spec(tmp_path / "generated" / "while_").DOMAIN == "while"
