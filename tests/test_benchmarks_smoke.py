"""Each benchmark script runs with --quick and writes its results file (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

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
