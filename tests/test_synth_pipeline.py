"""The synth pipeline: the gate's verdicts (with reasons), the journal, and resuming a killed run."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from envdsl.synth.gate import check_spec_dir
from envdsl.synth.graph import GraphConfig
from envdsl.synth.journal import Journal
from envdsl.synth.pipeline import SynthConfig, run_synth
from envdsl.synth.sources import Tool

GOOD = """
domain planted "A planted domain"
seed "planted.seed.json"
record Item { id: str  name: str  price: float }
state { items: collection<Item> by id }
read tool get_item(id: str) -> Item { return items[id] ?? fail f"No item {id}" }
"""
# compiles, but a tool reads a missing key without `??`: an internal error at run time
CRASHES = GOOD.replace('items[id] ?? fail f"No item {id}"', 'items["nope"]')
# does not compile: a read tool that writes
WRITES = GOOD.replace('{ return items[id] ?? fail f"No item {id}" }',
                      '{ delete items[id]\n return Item(id=id, name="x", price=1.0) }')
SEED = '{"items": {"a": {"id": "a", "name": "Garden hose", "price": 19.9}}}'


def planted(tmp_path: Path, text: str) -> Path:
    (tmp_path / "planted.env").write_text(text)
    (tmp_path / "planted.seed.json").write_text(SEED)
    return tmp_path / "planted.env"


@pytest.mark.parametrize("mode", ["proptest", "smoke"])
def test_gate_accepts_good_and_rejects_planted_bad_domains_with_reasons(tmp_path: Path, mode: str) -> None:
    good = check_spec_dir(planted(tmp_path, GOOD), mode=mode, probes=[{"tool": "get_item", "args": {"id": "a"}}])
    assert good.accepted and good.reasons == [] and good.tools == 1
    crash = check_spec_dir(planted(tmp_path, CRASHES), mode=mode)
    # the crashing body also ignores `id`: the fidelity gate says so too (F0101)
    assert not crash.accepted and "never_raises" in crash.reasons
    assert any("internal error" in d and "KeyError" in d for d in crash.details)
    bad = check_spec_dir(planted(tmp_path, WRITES), mode=mode)
    assert not bad.accepted and bad.reasons == ["compile"] and "E0401" in bad.details[0]
    probe = check_spec_dir(planted(tmp_path, GOOD), mode=mode, probes=[{"tool": "get_item", "args": {"id": "zz"}}])
    assert probe.reasons == ["probe"] and "No item zz" in probe.details[0]


def api_tools(api: str, nouns: list[str]) -> list[dict]:
    out = []
    for noun in nouns:
        for verb in ("get", "list", "create", "delete"):
            key = {f"{noun}_id": {"type": "string", "description": f"The {noun} id"}}
            params = key if verb in ("get", "delete") else {"title": {"type": "string", "description": f"{noun} title"}}
            out.append({"id": f"t/{api}/{verb}_{noun}", "source": "t", "api": api, "name": f"{verb}_{noun}",
                        "description": f"{verb} a {noun}", "parameters": {
                            "type": "object", "properties": params, "required": list(params)}})
    return out


def small_input(tmp_path: Path) -> Path:
    tools = api_tools("library", ["book", "author"]) + api_tools("garden", ["plant", "seedling"]) + \
        api_tools("fleet", ["truck", "driver"]) + api_tools("kitchen", ["recipe", "ingredient"])
    path = tmp_path / "tools.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tools))
    return path


def config(tmp_path: Path, inp: Path) -> SynthConfig:
    return SynthConfig(inputs=[str(inp)], out=str(tmp_path / "out"), workers=2, gate_mode="smoke",
                       graph=GraphConfig(cap_per_api=8, threshold=0.3, min_size=2, max_size=4, embedder="tfidf"))


def journal_records(out: Path) -> list[dict]:
    """Every whole line of the journal, in order (a torn line is not JSON and is left out)."""
    out_ = []
    for line in (out / "journal.jsonl").read_text().splitlines():
        try:
            out_.append(json.loads(line))
        except ValueError:
            assert not line.endswith("}"), line
    return out_


def journal_names(out: Path) -> list[str]:
    return [r["domain"] for r in journal_records(out)]


def test_killed_run_resumes_without_losing_or_repeating_work(tmp_path: Path) -> None:
    inp = small_input(tmp_path)
    out = tmp_path / "out"
    first = run_synth(config(tmp_path, inp), progress=False, stop_after=3, log=lambda m: None)
    planned = [d["domain"] for d in json.loads((out / "plan.json").read_text())["domains"]]
    assert len(planned) >= 6 and first["domains_done"] == 3
    done_first = journal_names(out)
    assert len(done_first) == 3
    with open(out / "journal.jsonl", "a") as fh:
        fh.write('{"domain": "torn')  # a write cut short by the kill
    second = run_synth(config(tmp_path, inp), progress=False, log=lambda m: None)
    names = journal_names(out)
    assert names[:3] == done_first  # the first run's lines are kept as they were
    assert sorted(names) == sorted(planned) and len(names) == len(set(names))  # each domain exactly once
    assert second["domains_done"] == second["accepted"] + second["rejected"] == len(planned)
    assert second["tools_in_domains"] == 32
    assert sorted(p.name for p in (out / "accepted").iterdir()) == sorted(
        r["domain"] for r in journal_records(out) if r["status"] == "accepted")
    assert not list((out / "work").iterdir())  # nothing left half-done
    summary = json.loads((out / "summary.json").read_text())
    assert summary["accepted"] == second["accepted"] and summary["domains_found"] == len(planned)
    # a third run has nothing left to do
    third = run_synth(config(tmp_path, inp), progress=False, log=lambda m: None)
    assert third["domains_done"] == len(planned) and journal_names(out) == names


def test_rejected_domains_are_kept_with_reasons(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import envdsl.synth.writer_heuristic as W

    real = W.write_domain

    def sabotage(name: str, tools: list[Tool]) -> W.SpecFiles:
        files = real(name, tools)
        if name.startswith("d00001"):  # plant a read tool that writes
            coll = re.search(r"^  (\w+): collection<", files.spec, re.M).group(1)  # type: ignore[union-attr]
            head, tool = files.spec.split("read tool ", 1)
            files.spec = head + "read tool " + tool.replace("  return rec", f"  delete {coll}[rec.id]\n  return rec", 1)
        return files

    monkeypatch.setattr(W, "write_domain", sabotage)  # workers are forked: they see the patch
    inp = small_input(tmp_path)
    summary = run_synth(config(tmp_path, inp), progress=False, log=lambda m: None)
    rejected = sorted((tmp_path / "out" / "rejected").iterdir())
    assert [p.name[:6] for p in rejected] == ["d00001"]
    verdict = json.loads((rejected[0] / "verdict.json").read_text())
    assert verdict["status"] == "rejected" and verdict["reasons"] == ["compile"]
    assert "error E0401" in verdict["details"][0]  # a read tool that changes the state
    assert (rejected[0] / f"{rejected[0].name}.env").is_file()
    assert summary["rejected_by_reason"] == {"compile": 1}


def test_journal_ignores_a_torn_line_and_starts_a_fresh_one(tmp_path: Path) -> None:
    j = Journal(tmp_path / "j.jsonl")
    j.append({"domain": "a", "status": "accepted"})
    with open(tmp_path / "j.jsonl", "a") as fh:
        fh.write('{"domain": "b", "sta')
    j.append({"domain": "c", "status": "rejected"})
    assert sorted(j.load()) == ["a", "c"]


def test_cli_runs_and_summarises(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from envdsl.cli import main

    inp = small_input(tmp_path)
    args = [str(inp), "-o", str(tmp_path / "cli"), "--workers", "1", "--gate", "smoke", "--embedder", "tfidf",
            "--cap-per-api", "8", "--threshold", "0.3", "--min-size", "2", "--max-size", "4", "--max-domains", "2",
            "--no-progress"]
    result = CliRunner().invoke(main, ["synth", *args])
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert summary["domains_done"] == 2 and summary["accepted"] == 2
    assert "processed 2/2: accepted 2, rejected 0" in result.output


def test_cli_fails_when_a_domain_crashes_instead_of_being_judged(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A writer or gate that raises (a missing dependency, a bug) is envdsl's failure: the run still writes
    its summary, but exits 1 and says so, instead of passing for a run that rejected every domain."""
    from click.testing import CliRunner

    import envdsl.synth.writer_heuristic as W
    from envdsl.cli import main

    def broken(name: str, tools: list[Tool]) -> W.SpecFiles:
        raise ModuleNotFoundError("No module named 'lemminflect'")

    monkeypatch.setattr(W, "write_domain", broken)  # workers are forked: they see the patch
    inp = small_input(tmp_path)
    args = [str(inp), "-o", str(tmp_path / "cli"), "--workers", "1", "--gate", "smoke", "--embedder", "tfidf",
            "--cap-per-api", "8", "--threshold", "0.3", "--min-size", "2", "--max-size", "4", "--max-domains", "2",
            "--no-progress"]
    result = CliRunner().invoke(main, ["synth", *args])
    assert result.exit_code == 1, result.output
    assert "2 domain(s) failed with an internal error" in result.output
    summary = json.loads((tmp_path / "cli" / "summary.json").read_text())
    assert summary["rejected_by_reason"] == {"synth_error": 2}
    verdict = json.loads(next((tmp_path / "cli" / "rejected").glob("*/verdict.json")).read_text())
    assert verdict["details"] == ["ModuleNotFoundError: No module named 'lemminflect'"]


def test_ray_executor_explains_a_missing_install(monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    from envdsl.synth.ray_executor import require_ray

    monkeypatch.setitem(sys.modules, "ray", None)  # import ray -> ImportError
    with pytest.raises(SystemExit, match=r"pip install 'envdsl\[ray\]'"):
        require_ray()


def test_fidelity_figures_script_measures_an_output_folder(tmp_path: Path) -> None:
    """benchmarks/synth_fidelity.py reads a run's journal and accepted specs (finished or not)."""
    import subprocess
    import sys

    inp = small_input(tmp_path)
    run_synth(config(tmp_path, inp), progress=False, log=lambda m: None)
    result = tmp_path / "fig.json"
    repo = Path(__file__).resolve().parents[1]
    r = subprocess.run([sys.executable, str(repo / "benchmarks" / "synth_fidelity.py"), str(tmp_path / "out"),
                        "--sample", "2", "--result", str(result)], cwd=repo, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stderr
    fig = json.loads(result.read_text())
    summary = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert (fig["accepted"], fig["rejected"]) == (summary["accepted"], summary["rejected"])
    assert fig["accepted_static"]["unused_params"] == 0 and fig["accepted_sample"]["stub_tools"] == 0
    assert fig["accepted"] >= 1 and fig["accepted_sample"]["domains"] == min(2, fig["accepted"])
