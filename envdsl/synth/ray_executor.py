"""`--executor ray`: the same jobs on a Ray cluster (optional extra `ray`; imported only here).

The driver keeps the journal; each task is `run_job` on one domain, so a killed driver resumes as
with local workers. RAY_ADDRESS selects a running cluster; without it Ray starts a local one.
"""

from __future__ import annotations

from typing import Any, Iterator

from envdsl.synth.worker import run_job


def require_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise SystemExit("error: --executor ray needs Ray: pip install 'envdsl[ray]' (or pip install ray)") from None
    return ray


def execute_ray(jobs: Iterator[dict[str, Any]], settings: dict[str, Any], workers: int) -> Iterator[dict[str, Any]]:
    ray = require_ray()
    if not ray.is_initialized():
        ray.init(ignore_reinit_error=True, log_to_driver=False)
    remote = ray.remote(run_job)
    window = max(2, workers * 2)
    pending: list[Any] = []
    for job in jobs:
        pending.append(remote.remote(job, settings))
        if len(pending) >= window:
            done, pending = ray.wait(pending, num_returns=1)
            yield from ray.get(done)
    while pending:
        done, pending = ray.wait(pending, num_returns=1)
        yield from ray.get(done)
