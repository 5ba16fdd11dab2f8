"""`--executor ray` on a real (local, one-CPU) Ray cluster: the same specs, byte for byte, and the same
verdicts as the process executor. Ray is the `ray` extra, which the test install (.ci/run) includes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import pytest
from test_synth_pipeline import config, small_input

from envdsl.synth.pipeline import run_synth


@pytest.fixture(scope="module")
def ray_cluster() -> Iterator[Any]:
    import ray

    # light: one CPU, no dashboard, no worker log forwarding; shut down after the module
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        yield ray
    finally:
        ray.shutdown()


def outcome(out: Path) -> dict[str, Any]:
    """Per domain: its status, the bytes of its spec and seed, and the verdict without timings."""
    found = {}
    for status in ("accepted", "rejected"):
        for folder in sorted((out / status).iterdir()) if (out / status).is_dir() else []:
            verdict = json.loads((folder / "verdict.json").read_text())
            verdict.pop("seconds")
            found[folder.name] = {"status": status, "verdict": verdict,
                                  "spec": (folder / f"{folder.name}.env").read_bytes(),
                                  "seed": (folder / f"{folder.name}.seed.json").read_bytes()}
    return found


def test_ray_executor_matches_the_process_executor(tmp_path: Path, ray_cluster: Any) -> None:
    inp = small_input(tmp_path)
    runs = {}
    for executor in ("process", "ray"):
        cfg = config(tmp_path, inp)
        cfg.out, cfg.executor, cfg.max_domains = str(tmp_path / executor), executor, 3
        summary = run_synth(cfg, progress=False, log=lambda m: None)
        assert summary["domains_done"] == 3
        runs[executor] = (summary, outcome(tmp_path / executor))
    (p_summary, process), (r_summary, ray) = runs["process"], runs["ray"]
    assert len(process) == 3 and sorted(ray) == sorted(process)
    assert ray == process  # byte-identical specs and seeds, the same verdicts and reasons
    for key in ("accepted", "rejected", "rejected_by_reason", "tools_covered", "apis_covered"):
        assert r_summary[key] == p_summary[key], key
    assert ray_cluster.is_initialized()  # the executor used the running cluster, not a new one
    assert not list((tmp_path / "ray" / "work").iterdir())


def test_an_llm_domain_gets_time_for_every_round_of_its_requests() -> None:
    from envdsl.synth.worker import time_limit

    assert time_limit({"writer": "heuristic", "timeout": 120}) == 120
    assert time_limit({"writer": "openai:m", "timeout": 120, "llm_timeout": 600.0, "rounds": 3}) == 4 * 600 + 60
    assert time_limit({"writer": "openai:m", "timeout": 0, "llm_timeout": 600.0}) == 0  # no limit stays none
