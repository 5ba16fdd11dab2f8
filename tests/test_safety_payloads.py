"""A payload in every place text enters a spec never runs (issue 10).

The payload creates a marker file when executed as Python. It is planted in the spec's file name,
in names of every kind (chosen to shadow Python's own: os, exec, eval, open, ...), in every kind
of string (descriptions, literals, f-strings, enum members, union tags, patterns, examples,
defaults, failure messages, the policy), in seed keys and values, and in an API collection fed
to synth. Then compile, check, test, call, tasks, rollout, synth and a plain import of the
generated package run in a subprocess-free CLI or a fresh interpreter, and the marker must not exist.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from testkit import run_cli


def spec_str(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def payloads(marker: Path) -> list[str]:
    m = marker.as_posix()
    return [
        f"__import__('os').system('touch {m}')",
        f'"""; __import__("os").system("touch {m}"); """',
        f"'''; __import__('os').system('touch {m}'); '''",
        f"'); __import__('os').system('touch {m}'); ('",
        "{{ cycler.__init__.__globals__.os.system('touch " + m + "') }}",
        f"\\\"\\\"\\\"; __import__('os').system('touch {m}') #",
        f"x\0y\r\n; __import__('os').system('touch {m}')\u2028#",
    ]


@pytest.fixture
def hostile(tmp_path: Path) -> tuple[Path, Path, list[str]]:
    marker = tmp_path / "MARKER"
    p = [spec_str(x) for x in payloads(marker)]
    folder = tmp_path / "spec"
    folder.mkdir()
    # the file name itself: relative marker (a file name cannot hold '/'), checked in the cwd
    name = 'h""";__import__("os").system("touch PWNED");"""\\x.env'
    seed_key = payloads(marker)[0]
    seed = {"os": {seed_key: {"sys": seed_key, "exec": payloads(marker)[1], "kind": "a"}},
            "eval": payloads(marker)[2]}
    (folder / "hostile.seed.json").write_text(json.dumps(seed), encoding="utf-8")
    (folder / "hostile.policy.md").write_text(payloads(marker)[3] + "\n", encoding="utf-8")
    members = ", ".join(p[:3])
    spec = f"""
domain hostile {p[0]}
policy file "hostile.policy.md"
seed "hostile.seed.json"
const exec: str = {p[1]}
const compile: list<str> = [{", ".join(p)}]
enum subprocess {{ {members} }}
record os {p[2]} {{
  sys: str @pattern("^.*$") @examples({p[3]}) {p[4]}
  exec: str = {p[5]} {p[6]}
  kind: str
}}
record getattr {{ kind: str  globals: str = {p[0]} }}
union builtins by kind {{ "a": os, {p[1]}: getattr }}
state {{ os: collection<os> by sys {p[2]}  eval: str = {p[3]} }}
invariant {p[4]}: len(os) >= 0
fn system(open: str) -> str {p[5]} {{ return f"{{open}} {{exec}}" }}
read tool eval_(open: str = {p[6]} {p[0]}) -> list<str> {p[1]} {{
  let globals = [open, system(open), exec]
  return compile + globals
}}
read tool lookup(sys: str) -> os {p[2]} {{ return os[sys] ?? fail {p[3]} }}
write tool put(sys: str, kind: subprocess = {p[0]}) -> os {{
  require sys != {p[4]} else {p[5]}
  let o = os(sys=sys)
  insert os[sys] = o
  return o
}}
read tool pick(b: builtins) -> str {{ if b is getattr {{ return b.globals }}
  return {p[6]} }}
# the descriptions are payloads, not meaning: the fidelity checks would rightly report them
# fidelity: allow F0103 eval_: its description is a payload whose words read as verbs
# fidelity: allow F0101 put: the parameter exists to carry a payload default
"""
    spec_path = folder / name
    spec_path.write_text(spec, encoding="utf-8")
    (folder / "hostile.env").write_text(spec, encoding="utf-8")  # the same under a plain name, for tasks
    return tmp_path, spec_path, payloads(marker)


def _nothing_ran(tmp: Path) -> None:
    assert not (tmp / "MARKER").exists()
    assert not (tmp / "PWNED").exists()
    assert not list(tmp.rglob("PWNED")) and not list(tmp.rglob("MARKER"))


def test_no_command_runs_a_planted_payload(hostile: tuple[Path, Path, list[str]],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    tmp, spec, ps = hostile
    monkeypatch.chdir(tmp)
    code, out, err = run_cli("check", str(spec))
    assert code == 0, err
    code, out, err = run_cli("compile", str(spec), "-o", "gen")
    assert code == 0, err
    _nothing_ran(tmp)
    # a plain import of every module, in a fresh interpreter
    r = subprocess.run([sys.executable, "-c",
                        "import gen.hostile as h, gen.hostile.models as m, gen.hostile.tools, json; "
                        "e = h.ENVIRONMENT(); print(json.dumps([e.call('eval_').value, e.DESCRIPTION, e.POLICY]))"],
                       cwd=tmp, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    value, description, policy = json.loads(r.stdout)
    assert description == ps[0] and policy == ps[3] + "\n"
    assert value[:len(ps)] == ps and value[-1] == ps[1]
    _nothing_ran(tmp)
    code, out, err = run_cli("call", str(spec), "lookup", json.dumps({"sys": ps[0]}))
    assert code == 0 and json.loads(out)["exec"] == ps[1], err
    code, out, err = run_cli("call", str(spec), "put", json.dumps({"sys": ps[4]}))
    assert ps[5] in out + err
    code, out, err = run_cli("call", str(spec), "pick", json.dumps({"b": {"kind": ps[1]}}))
    assert code == 0 and out.rstrip("\n") == ps[0], err  # a str result is printed as it is
    _nothing_ran(tmp)
    code, out, err = run_cli("test", str(spec), "--examples", "3")
    assert code == 0, out + err
    _nothing_ran(tmp)
    plain = tmp / "spec" / "hostile.env"
    code, out, err = run_cli("tasks", str(plain), "-n", "3", "-o", "tasks.jsonl")
    assert code == 0, out + err
    code, out, err = run_cli("rollout", "tasks.jsonl", "-o", "roll", "--spec", str(plain))
    assert code == 0, out + err
    _nothing_ran(tmp)


def test_synth_runs_no_payload_from_an_api_collection(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    ps = payloads(tmp_path / "MARKER")
    tools = []
    for api, nouns in (("alpha", ["book", "author"]), ("beta", ["plant", "seed"])):
        for noun in nouns:
            for verb in ("get", "list", "create", "delete"):
                key = {f"{noun}_id": {"type": "string", "description": ps[len(tools) % len(ps)],
                                      "pattern": "^(a+)+$" if verb == "get" else ".*", "default": ps[0]}}
                params = key if verb in ("get", "delete") else {
                    "title": {"type": "string", "description": ps[1], "enum": ps[:3]}}
                tools.append({"id": f"t/{api}/{verb}_{noun}", "source": ps[2], "api": api,
                              "name": f"{verb}_{noun}", "description": ps[len(tools) % len(ps)],
                              "parameters": {"type": "object", "properties": params, "required": list(params)}})
    inp = tmp_path / "tools.jsonl"
    inp.write_text("".join(json.dumps(t) + "\n" for t in tools), encoding="utf-8")
    code, out, err = run_cli("synth", str(inp), "-o", "synth", "--workers", "1", "--gate", "smoke",
                             "--embedder", "tfidf", "--cap-per-api", "8", "--threshold", "0.3", "--min-size", "2",
                             "--max-size", "4", "--max-domains", "2", "--no-progress")
    assert code == 0, out + err
    summary = json.loads((tmp_path / "synth" / "summary.json").read_text(encoding="utf-8"))
    specs = sorted((tmp_path / "synth" / "accepted").rglob("*.env"))
    assert summary["accepted"] == len(specs) >= 1
    code, out, err = run_cli("compile", *map(str, specs), "-o", "gen")
    assert code == 0, out + err
    domains = sorted(p.name for p in (tmp_path / "gen").iterdir() if p.is_dir())
    imports = "; ".join(f"import gen.{d}.models, gen.{d}.tools, gen.{d}.environment" for d in domains)
    r = subprocess.run([sys.executable, "-c", imports], cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    _nothing_ran(tmp_path)
