"""`--executor ray`: the same jobs on a Ray cluster (optional extra `ray`; imported only here).

The driver keeps the journal; each task is `run_job` on one domain, so a killed driver resumes as
with local workers. `--ray-address` (else RAY_ADDRESS) selects a running cluster; without either Ray
starts a local one. Workers write under OUT themselves, so on a cluster of several machines OUT must
be a folder every node sees at the same path (a shared file system).
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


def execute_ray(jobs: Iterator[dict[str, Any]], settings: dict[str, Any], workers: int,
                address: str | None = None) -> Iterator[dict[str, Any]]:
    ray = require_ray()
    if not ray.is_initialized():  # a caller (or a test) may have connected already
        ray.init(address=address, ignore_reinit_error=True, log_to_driver=False)
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
