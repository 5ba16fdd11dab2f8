"""Each benchmark script runs with --quick and writes its results file (no timing is asserted)."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from testkit import REPO


@pytest.mark.parametrize("name,key", [("compile_throughput", "results"), ("tool_latency", "results"),
                                      ("reset_cost", "results")])
def test_benchmark_runs_quick(name: str, key: str, tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, str(REPO / "benchmarks" / f"{name}.py"), "--quick", "--results",
                        str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads((tmp_path / f"{name}.json").read_text())
    assert data["benchmark"] == name and data["quick"] is True and data[key]
    assert f"wrote {tmp_path / (name + '.json')}" in r.stdout


def test_reset_benchmark_reports_an_empty_journal(tmp_path: Path) -> None:
    subprocess.run([sys.executable, str(REPO / "benchmarks" / "reset_cost.py"), "--quick", "--results",
                    str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=120, check=True)
    rows = json.loads((tmp_path / "reset_cost.json").read_text())["results"]
    assert [r["entities"] for r in rows] == [100, 1000]
    assert all(r["journal_after_reset"] == 0 for r in rows)


def _side_by_side_module() -> Any:
    spec = importlib.util.spec_from_file_location("tau2_side_by_side", REPO / "benchmarks" / "tau2_side_by_side.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tau2_side_by_side_envdsl_side_runs_without_tau2() -> None:
    """The envdsl half of benchmarks/tau2_side_by_side.py (tau2-bench itself is run by hand): a pass and
    the evaluation on three retail tasks, gold trajectories passing and perturbed ones failing."""
    sbs = _side_by_side_module()
    tasks = json.loads((REPO.parent / "shared" / "data" / "tau2" / "retail" / "tasks.json").read_text())[:3]
    side = sbs.EnvdslSide("retail", tasks)
    ids = [str(t["id"]) for t in tasks]
    got = side.run_pass(ids, 2)
    assert {k: len(v) > 0 for k, v in got["samples_ns"].items()} == {
        "construction": True, "hash_cold": True, "digest_cold": True, "tool_call": True, "hash_after_task": True,
        "reset": True}
    assert len(set(got["final_hashes"].values())) == 3  # three tasks that wrote, three different outcomes
    for tid in ids:
        side.trajectories[tid] = {"gold": side.gold(tid), "perturbed": sbs.perturbed_calls(side, "retail", tid)}
    verdicts = side.evaluate(ids)["verdicts"]
    assert verdicts == {tid: {"gold": True, "perturbed": False} for tid in ids}


def test_tau2_side_by_side_names_the_missing_tau2_venv(tmp_path: Path) -> None:
    """Without tau2-bench's virtual environment the script says how to build it (exit 1, no traceback)."""
    sbs = _side_by_side_module()
    sbs.TAU2_PYTHON = tmp_path / "no-venv" / "bin" / "python"
    with pytest.raises(SystemExit) as e:
        sbs.Tau2Worker()
    assert "bash benchmarks/setup_tau2_venv.sh" in str(e.value.code)


def test_no_benchmark_divides_by_a_typed_in_reference_figure() -> None:
    for script in (REPO / "benchmarks").glob("*.py"):
        assert "REFERENCE_" not in script.read_text(), script
