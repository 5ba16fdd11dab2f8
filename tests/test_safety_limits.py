"""Untrusted specs (issue 10): every valid name compiles to an importable package with the meaning
it had, hostile inputs get located E07xx diagnostics in bounded time, a tool call has a step budget,
env.call never raises, and a killed compile leaves nothing a rerun does not clean."""

from __future__ import annotations

import importlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from testkit import check_text, env_class_from_text, run_cli

from envdsl import compiler as C
from envdsl.lang.limits import MAX_SPEC_BYTES
from envdsl.lang.regex_safety import backtracking_problem
from envdsl.runtime.budget import MAX_SIZE, MAX_STEPS
from envdsl.runtime.loader import import_every_module


def codes(bag: Any) -> list[str]:
    return [d.code for d in bag.items]


def load_all(cls: Any) -> Any:
    import_every_module(cls)
    return importlib.import_module(cls.__module__.rsplit(".", 1)[0] + ".models")


# ---- names: injective renaming, every module imports ---------------------------------------------
def test_tools_whose_python_names_would_clash_keep_their_meaning(tmp_path: Path) -> None:
    cls = env_class_from_text("""
        domain clash
        const MAX: int = 10
        const X: int = 1
        record klass { id: str }
        state { cs: collection<klass> by id }
        invariant "count": len(cs) >= 0
        fn C_X() -> int { return 2 }
        fn g() -> int { return 3 }
        read tool class() -> int { return 1 }
        read tool class_() -> int { return 2 }
        read tool class__() -> int { return 3 }
        read tool invariant_1() -> int { return 7 }
        read tool locals() -> int { let C_MAX = 5
          return MAX + C_MAX }
        read tool consts() -> int { return X + C_X() }
        read tool shadow() -> int { let g_ = 4
          return g() + g_ }
        read tool same() -> int { let g = 4
          let C_X = 10
          return g() + g + C_X() + C_X + [exec for exec in [1]][0] }
        read tool params(db: int, db_: int, S: int, rt: int) -> int { return db * 1000 + db_ * 100 + S * 10 + rt }
        read tool type(type_: int, print: int) -> int { return type_ * 10 + print }
    """, tmp_path / "clash", name="clash")
    env = cls()
    got = {t: env.call(t, {}).value for t in ("class", "class_", "class__", "invariant_1", "locals", "consts",
                                                "shadow", "same")}
    assert got == {"class": 1, "class_": 2, "class__": 3, "invariant_1": 7, "locals": 15, "consts": 3,
                   "shadow": 7, "same": 3 + 4 + 2 + 10 + 1}
    assert env.call("params", {"db": 1, "db_": 2, "S": 3, "rt": 4}).value == 1234
    assert env.call("type", {"type_": 9, "print": 1}).value == 91
    assert env.invariant_failures() == []
    load_all(cls)


def test_types_named_like_python_or_pydantic_names_import(tmp_path: Path) -> None:
    cls = env_class_from_text("""
        domain types
        enum def { "a", "b" }
        record None { id: str  kind: def = "a" }
        record Field { id: str  Field: str = "f"  BaseModel: int = 1  model_x: int = 2  model_x_: int = 3 }
        record ConfigDict { id: str  str: int = 4  class: str? = null  class_: int = 5  Config: str? = null }
        record BaseModel { id: str  State: str = "s" }
        record State { id: str }
        record dict { id: str }
        union Literal by kind { "a": A, "b": B }
        record A { kind: str  id: str }
        record B { kind: str  n: int }
        state { nones: collection<None> by id  fields: collection<Field> by id  states: collection<State> by id
                dicts: collection<dict> by id  model_fields: int = 0 }
        write tool put(id: str) -> Field {
          let f = Field(id=id)
          insert fields[id] = f
          return f
        }
        read tool one(x: Literal) -> str { if x is A { return x.id }
          return "b" }
    """, tmp_path / "types", name="types")
    models = load_all(cls)
    env = cls()
    assert env.call("put", {"id": "k"}).value == {"id": "k", "Field": "f", "BaseModel": 1, "model_x": 2,
                                                 "model_x_": 3}
    assert env.call("one", {"x": {"kind": "a", "id": "z"}}).value == "z"
    # the pydantic models describe the same data, under the spec's names (aliases where renamed)
    f = models.Field_.model_validate({"id": "k", "Field": "g", "BaseModel": 2, "model_x": 5, "model_x_": 6})
    assert f.model_dump(by_alias=True) == {"id": "k", "Field": "g", "BaseModel": 2, "model_x": 5, "model_x_": 6}
    # a field named Config would be pydantic's legacy class config (synth met one in an Azure API)
    c = models.ConfigDict_.model_validate({"id": "c", "str": 1, "class": "x", "class_": 2, "Config": "{}"})
    assert c.model_dump(by_alias=True) == {"id": "c", "str": 1, "class": "x", "class_": 2, "Config": "{}"}
    assert models.State.model_validate(env.state()).model_dump(by_alias=True)["model_fields"] == 0


def test_generated_files_hold_no_raw_file_name(tmp_path: Path) -> None:
    folder = tmp_path / "odd"
    folder.mkdir()
    marker = tmp_path / "PWNED"
    name = 'x""";__import__("os").system("touch PWNED");"""\\y\r.env'
    spec = folder / name
    spec.write_text('domain odd "a\\0b"\nread tool t() -> int { return 1 }\n', encoding="utf-8")
    code, out, err = run_cli("compile", str(spec), "-o", str(tmp_path / "gen"))
    assert code == 0, err
    import ast

    for f in (tmp_path / "gen" / "odd").glob("*.py"):
        text = f.read_text(encoding="utf-8")
        assert "\r" not in text and "\0" not in text
        # the file name stays inside the module docstring, as data
        assert name in (ast.get_docstring(ast.parse(text), clean=False) or ""), f.name
    r = subprocess.run([sys.executable, "-c", "import gen.odd.models, gen.odd.tools as t; "
                        "print(gen.odd.ENVIRONMENT().call('t').content, gen.odd.ENVIRONMENT.DESCRIPTION == 'a\\0b')"],
                       cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.stdout.split() == ["1", "True"], r.stderr
    assert not marker.exists()


# ---- paths: seed and policy files stay inside the spec's folder ----------------------------------
@pytest.mark.parametrize("written", ["../secret.json", "/etc/passwd", "sub/../../secret.json", "link.json"])
def test_seed_outside_the_folder_is_refused_without_reading_it(tmp_path: Path, written: str) -> None:
    (tmp_path / "secret.json").write_text('{"items": {"TOPSECRET": {"id": "TOPSECRET"}}}', encoding="utf-8")
    spec_dir = tmp_path / "spec"
    spec_dir.mkdir()
    (spec_dir / "sub").mkdir()
    (spec_dir / "link.json").symlink_to(tmp_path / "secret.json")
    bag = check_text(f"""
        domain d
        seed "{written}"
        policy file "{written}"
        record A {{ id: str }}
        state {{ items: collection<A> by id }}
        read tool t() -> int {{ return 1 }}
    """, spec_dir)
    # one error for the policy file and one for the seed: every error of the spec is reported at once
    assert codes(bag) == ["E0701", "E0701"]
    assert "TOPSECRET" not in bag.render() and "root:" not in bag.render()
    # allowed by whoever runs the compiler, not by the spec: --allow-dir / $ENVDSL_ALLOW_DIRS
    if written != "/etc/passwd":
        bag2 = check_text(f"""
            domain d
            seed "{written}"
            record A {{ id: str }}
            state {{ items: collection<A> by id }}
            read tool t() -> int {{ return 1 }}
        """, spec_dir)
        assert codes(bag2) == ["E0701"]
        from envdsl.lang.diagnostics import DiagnosticBag

        bag3 = DiagnosticBag()
        assert C.check_spec(spec_dir / "t.env", bag3, [tmp_path]) is not None, bag3.render()


def test_policy_that_is_not_utf8_is_a_diagnostic(tmp_path: Path) -> None:
    (tmp_path / "p.md").write_bytes("caf\xe9".encode("latin-1"))
    bag = check_text('domain d\npolicy file "p.md"\nread tool t() -> int { return 1 }\n', tmp_path)
    assert codes(bag) == ["E0607"]


# ---- the front end: bounded answers to hostile text -------------------------------------------------
@pytest.mark.parametrize("text, code", [
    ('domain d "\\ud800"\nread tool t() -> int { return 1 }\n', "E0703"),
    ('domain d\nread tool t() -> int { return ' + "9" * 5000 + ' }\n', "E0106"),
    ('domain d\nread tool t() -> int { return ' + "+".join(["1"] * 332) + ' }\n', "E0702"),
    ('domain d\nread tool t(x: int) -> int {\n' + "if x > 0 {\n" * 245 + "return 1\n" + "}\n" * 245
     + "return 0 }\n", "E0702"),
    ('domain d\nread tool t() -> list<int> { return ' + "[" * 5000 + "]" * 5000 + ' }\n', "E0702"),
    ('domain d\nread tool t() -> str { return f"{' + "+".join(["1"] * 300) + '}" }\n', "E0702"),
    ('domain d\nread tool t(s: str @pattern("^(a+)+$")) -> int { return 1 }\n', "E0705"),
    ('domain d\nrecord A { kind: str id: str }\nunion U by kind { "a": A, "b": B }\n'
     'read tool t(u: U) -> str { if u is B { return u.id }\n return "" }\n', "E0214"),
])
def test_hostile_specs_get_diagnostics_quickly(tmp_path: Path, text: str, code: str) -> None:
    spec = tmp_path / "x.env"
    spec.write_text(text, encoding="utf-8")
    t0 = time.perf_counter()
    exit_code, out, err = run_cli("check", str(spec))
    assert (exit_code, code in err, "internal error" in err) == (1, True, False), err[-500:]
    assert time.perf_counter() - t0 < 20


def test_surrogate_pairs_are_joined(tmp_path: Path) -> None:
    cls = env_class_from_text('domain d\nread tool t() -> str { return "\\ud83d\\ude00" }\n', tmp_path)
    assert cls().call("t").value == "\U0001f600"


def test_nesting_just_under_the_limits_compiles_and_runs(tmp_path: Path) -> None:
    cls = env_class_from_text(
        'domain d\nread tool t(x: int) -> int {\n' + "if x > 0 {\n" * 45 + "return " + "+".join(["1"] * 80)
        + "\n" + "}\n" * 45 + "return 0 }\n", tmp_path)
    assert cls().call("t", {"x": 1}).value == 80


@pytest.mark.parametrize("seed, code", [
    ("[" * 100000 + "]" * 100000, "E0702"),
    ('{"items": ' + "[" * 150 + "]" * 150 + "}", "E0702"),
    ('{"items": {"a": {"id": "\\ud800"}}}', "E0703"),
    ('{"n": ' + "7" * 5000 + "}", "E0704"),
])
def test_hostile_seeds_get_diagnostics(tmp_path: Path, seed: str, code: str) -> None:
    (tmp_path / "t.seed.json").write_text(seed, encoding="utf-8")
    bag = check_text('domain d\nseed "t.seed.json"\nrecord A { id: str }\nstate { items: collection<A> by id '
                     ' n: int = 0 }\nread tool t() -> int { return 1 }\n', tmp_path)
    assert codes(bag) == [code], bag.render()


def test_oversized_spec(tmp_path: Path) -> None:
    spec = tmp_path / "huge.env"
    spec.write_text("domain d\n" + "#" * MAX_SPEC_BYTES + "\n", encoding="utf-8")
    code, _, err = run_cli("check", str(spec))
    assert code == 1 and "E0704" in err


@pytest.mark.parametrize("pattern", ["^(a+)+$", "(a*)*", "(a|a)*", "(a|aa)+", "(.*a){20}", r"^(\w+\s?)*$",
                                     "^(x+x+)+y$"])
def test_backtracking_patterns_are_refused(pattern: str) -> None:
    assert backtracking_problem(pattern)


@pytest.mark.parametrize("pattern", ["^m[0-9]{3}$", r"^(\d{3}-)+$", r"\d+-\d+", "^(cat|dog)+$", "^([a-z]|-)+$",
                                     "^[a-z0-9._]+@[a-z0-9.]+[.][a-z]{2,}$", "^97[89][0-9]{10}$"])
def test_ordinary_patterns_pass(pattern: str) -> None:
    assert backtracking_problem(pattern) is None


# ---- the runtime: step budget, env.call never raises ------------------------------------------------
BUDGET_SPEC = """
    domain budget
    record Item { id: str  n: int = 0 }
    state { items: collection<Item> by id  text: str = "" }
    write tool loops() -> int {
      insert items["x"] = Item(id="x")
      let n = 0
      for a in range(100000) { for b in range(100000) { for c in range(100000) { n += 1 } } }
      return n
    }
    write tool doubling() -> int {
      let s = "ab"
      for i in range(100) { s = s + s }
      text = s
      return len(s)
    }
    write tool fdoubling() -> int {
      let s = "ab"
      for i in range(100) { s = f"{s}{s}" }
      return len(s)
    }
    read tool squaring() -> int {
      let x = 3
      for i in range(100) { x = x * x }
      return x
    }
    read tool big_list() -> int { return len([[j for j in range(100000)] for i in range(100000)]) }
    read tool joined() -> int { return len(join([join(["x" for j in range(1000)], "") for i in range(2000)], "y")) }
    read tool replaced() -> int {
      let a = join(["a" for j in range(5000)], "")
      return len(replace(a, "a", join(["b" for j in range(5000)], "")))
    }
    read tool pow_float() -> float { return (2 ** 10000) * 1.0 }
    read tool round_inf() -> int { return round(float("inf")) }
    read tool fine() -> int {
      let n = 0
      for i in range(1000) { n += i }
      return n
    }
"""


def test_runaway_work_is_a_rolled_back_tool_error(tmp_path: Path) -> None:
    cls = env_class_from_text(BUDGET_SPEC, tmp_path, name="budget")
    env = cls()
    before = env.state()
    t0 = time.perf_counter()
    for tool in ("loops", "doubling", "fdoubling", "squaring", "big_list", "joined", "replaced",
                 "pow_float", "round_inf"):
        r = env.call(tool)
        assert (r.ok, r.internal_error) == (False, False), (tool, r.content)
        assert env.state() == before, tool
    assert time.perf_counter() - t0 < 60
    assert "step budget" in env.call("loops").content
    assert env.call("fine").value == 499500
    assert MAX_STEPS >= 1_000_000 and MAX_SIZE >= 1_000_000


def test_env_call_never_raises(tmp_path: Path, shop_class: Any) -> None:
    env = shop_class()
    deep: Any = []
    for _ in range(3000):
        deep = [deep]
    old = sys.get_int_max_str_digits()
    sys.set_int_max_str_digits(0)
    huge = 10 ** 5000
    sys.set_int_max_str_digits(old)
    inputs: list[Any] = ["[" * 100000 + "]" * 100000, '{"a":' * 100000 + "1" + "}" * 100000,
                         '{"x": ' + "1" * 5000 + "}", {"x": huge}, {"x": deep}, deep, huge, object(), b"\xff"]
    before = env.state()
    for tool in list(env.TOOLS)[:3] + [None, "nope"]:
        for args in inputs:
            r = env.call(tool, args)  # type: ignore[arg-type]
            assert r.ok is False and r.content.startswith("Error: ")
    assert env.state() == before


# ---- compile: leftovers and permissions -------------------------------------------------------------
def test_killed_compile_leftovers_are_removed_and_modes_follow_umask(tmp_path: Path) -> None:
    spec = tmp_path / "k.env"
    spec.write_text("domain k\nread tool t() -> int { return 1 }\n", encoding="utf-8")
    out = tmp_path / "gen"
    # a temporary folder holding a whole package, fingerprint included, as a kill right before the
    # rename leaves it: it must not count as the compiled package
    assert run_cli("compile", str(spec), "-o", str(out))[0] == 0
    os.replace(out / "k", out / f"{C.TEMP_PREFIX}k.abc")
    (out / f"{C.TEMP_PREFIX}k.abc" / "tools.py").write_text("trunc", encoding="utf-8")
    (out / "k.ir.tmp").write_text("{", encoding="utf-8")
    old = os.umask(0o022)
    try:
        code, _, err = run_cli("compile", str(spec), "-o", str(out))
    finally:
        os.umask(old)
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["__init__.py", "k"]
    assert stat.S_IMODE((out / "k").stat().st_mode) == 0o755
    assert stat.S_IMODE((out / "k" / "tools.py").stat().st_mode) == 0o644


def test_killed_compile_in_a_subprocess_leaves_nothing_after_a_rerun(tmp_path: Path) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for i in range(30):
        (specs / f"d{i}.env").write_text(f"domain d{i}\nread tool t() -> int {{ return {i} }}\n", encoding="utf-8")
    out = tmp_path / "gen"
    p = subprocess.Popen([sys.executable, "-m", "envdsl", "compile", str(specs), "-o", str(out)],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.5)
    p.kill()
    p.wait()
    code, _, err = run_cli("compile", str(specs), "-o", str(out))
    assert code == 0, err
    assert sorted(p.name for p in out.iterdir()) == sorted(["__init__.py", *(f"d{i}" for i in range(30))])
    env = json.loads((out / "d7" / "tools.json").read_text(encoding="utf-8"))
    assert env[0]["function"]["name"] == "t"
