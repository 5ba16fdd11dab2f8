"""The whole offline path through the CLI: tasks -> oracle rollouts -> filters -> dataset -> pass^k."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from envdsl.cli import main
from envdsl.eval import pass_hat_k, passk_report

FIXTURES = Path(__file__).parent / "fixtures" / "pipeline"


def test_pass_hat_k_by_hand():
    # task A: 2 of 4 trials pass, task B: 4 of 4. pass^1 = (2/4 + 4/4) / 2; pass^2 = (C(2,2)/C(4,2) + 1) / 2
    assert pass_hat_k([2, 4], 4, 1) == pytest.approx(0.75)
    assert pass_hat_k([2, 4], 4, 2) == pytest.approx((1 / 6 + 1) / 2)
    assert pass_hat_k([2, 4], 4, 4) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        pass_hat_k([1], 2, 3)
    rows = [{"task_id": t, "domain": d, "trial": k, "success": s}
            for t, d, res in (("a", "x", [1, 1]), ("b", "x", [1, 0]), ("c", "y", [0, 0])) for k, s in enumerate(res)]
    report = passk_report(rows, [1, 2])
    # intervals: bootstrap over tasks; with two tasks a resample's mean is one of three values
    assert report["x"] == {"tasks": 2, "trials": 2, "pass^1": 0.75, "pass^2": 0.5,
                           "pass^1 ci": [0.5, 1.0], "pass^2 ci": [0.0, 1.0]}
    assert report["y"] == {"tasks": 1, "trials": 2, "pass^1": 0.0, "pass^2": 0.0,
                           "pass^1 ci": [0.0, 0.0], "pass^2 ci": [0.0, 0.0]}
    assert report["all"]["pass^1"] == pytest.approx(0.5)
    assert list(report) == ["x", "y", "all"]


def test_whole_pipeline_offline(tmp_path):
    datasets = pytest.importorskip("datasets")  # installed in the dev venv; the pipeline itself needs it not
    runner = CliRunner()
    tasks = tmp_path / "tasks.jsonl"
    r = runner.invoke(main, ["tasks", str(FIXTURES), "-n", "15", "--seed", "1", "--failure-rate", "0.3",
                             "-o", str(tasks)])
    assert r.exit_code == 0, r.output
    rows = [json.loads(x) for x in tasks.read_text().splitlines()]
    assert len(rows) == 30 and any(t["has_failure"] for t in rows) and any(t["read_only"] for t in rows)

    out = tmp_path / "run"
    r = runner.invoke(main, ["rollout", str(tasks), "-o", str(out), "--workers", "1"])
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["conversations"] == 30 and summary["kept"] == 30 and summary["reasons"] == {}
    assert summary["recovered_from_error"] == sum(t["has_failure"] for t in rows) > 0

    manifest = json.loads((out / "dataset" / "manifest.json").read_text())
    assert manifest["rows"] == 30 and manifest["by_domain"] == {"helpdesk": 15, "rental": 15}
    for f in manifest["files"]:
        assert hashlib.sha256((out / "dataset" / f["path"]).read_bytes()).hexdigest() == f["sha256"]
    files = [str(out / "dataset" / f["path"]) for f in manifest["files"]]
    ds = datasets.load_dataset("json", data_files=files, split="train")
    assert len(ds) == 30
    assert {"messages", "tools", "domain", "task_id"} <= set(ds.column_names)
    row = ds[0]
    assert isinstance(row["tools"], str) and json.loads(row["tools"])[0]["type"] == "function"
    calls = [c for m in row["messages"] if m["tool_calls"] for c in m["tool_calls"]]
    assert calls and all(isinstance(json.loads(c["function"]["arguments"]), dict) for c in calls)
    assert [m["role"] for m in row["messages"]][:2] == ["system", "user"]

    report_path = tmp_path / "oracle.json"
    r = runner.invoke(main, ["eval", str(tasks), "-o", str(tmp_path / "ev-oracle"), "--trials", "3",
                             "-k", "1", "-k", "3", "--json", str(report_path)])
    assert r.exit_code == 0, r.output
    oracle = json.loads(report_path.read_text())["passk"]
    assert oracle["all"] == {"tasks": 30, "trials": 3, "pass^1": 1.0, "pass^3": 1.0,
                             "pass^1 ci": [1.0, 1.0], "pass^3 ci": [1.0, 1.0]}
    assert "all" in r.output and "1.000" in r.output and "agent: oracle" in r.output

    broken_path = tmp_path / "broken.json"
    r = runner.invoke(main, ["eval", str(tasks), "-o", str(tmp_path / "ev-broken"), "--agent", "flaky:0.5",
                             "--trials", "3", "-k", "1", "-k", "3", "--json", str(broken_path)])
    assert r.exit_code == 0, r.output
    broken = json.loads(broken_path.read_text())["passk"]["all"]
    assert 0 < broken["pass^3"] < broken["pass^1"] < 1.0
    lo, hi = broken["pass^1 ci"]
    assert lo < broken["pass^1"] < hi  # the interval is not degenerate for a flaky agent
    assert "agent: flaky:0.5" in r.output

    # scoring a finished rollout folder gives the same figures without playing anything again
    again = tmp_path / "again.json"
    r = runner.invoke(main, ["eval", str(tmp_path / "ev-broken"), "-k", "1", "-k", "3", "--json", str(again)])
    assert r.exit_code == 0, r.output
    assert json.loads(again.read_text())["passk"]["all"] == broken
