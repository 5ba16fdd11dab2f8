"""One domain, start to finish, in a worker: write the spec, gate it, file it under accepted/ or rejected/.

`run_job` takes and returns plain dicts so it can cross process (and Ray) boundaries.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import time
from pathlib import Path
from typing import Any

from envdsl.synth.gate import Verdict, check_spec_dir
from envdsl.synth.sources import Tool


class DomainTimeout(Exception):
    pass


def run_job(job: dict[str, Any], settings: dict[str, Any]) -> dict[str, Any]:
    """job: {"domain", "tools": [tool dicts]}; settings: writer, out, gate_mode, examples, seed, timeout,
    and for LLM writers the client options. Never raises: failures become rejections."""
    t0 = time.perf_counter()
    name = job["domain"]
    tools = [Tool.from_json(t) for t in job["tools"]]
    work = Path(settings["out"]) / "work" / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    usage = {"llm_calls": 0, "prompt_tokens": 0, "completion_tokens": 0, "rounds": 0}
    timer = _alarm(time_limit(settings))
    try:
        if settings["writer"] == "heuristic":
            verdict = heuristic(name, tools, work, settings)
        else:
            from envdsl.synth.writer_llm import write_with_llm

            verdict = write_with_llm(name, tools, work, settings, usage)
    except DomainTimeout:
        verdict = Verdict(False, ["timeout"], [f"gave up after {settings.get('timeout')}s"])
    except Exception as e:  # noqa: BLE001 - one broken domain never stops the run
        verdict = Verdict(False, ["synth_error"], [f"{type(e).__name__}: {e}"])
    finally:
        timer()
    status = "accepted" if verdict.accepted else "rejected"
    (work / "verdict.json").write_text(json.dumps({"domain": name, "status": status, **verdict.to_json(),
                                                   "tool_ids": [t.id for t in tools]},
                                                  indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    target = Path(settings["out"]) / status / name
    for old in (Path(settings["out"]) / s / name for s in ("accepted", "rejected")):
        shutil.rmtree(old, ignore_errors=True)  # a domain redone after a kill
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(work, target)
    return {"domain": name, "status": status, "reason": verdict.reason, "reasons": verdict.reasons,
            "fidelity": fidelity_counts(verdict),
            "tools": len(tools), "tools_in_spec": verdict.tools, "apis": sorted({t.api for t in tools}),
            "seconds": round(time.perf_counter() - t0, 3), **usage}


def time_limit(settings: dict[str, Any]) -> int:
    """Seconds for one domain (0: none). An LLM domain may wait `llm_timeout` for each of its rounds, so
    its limit is never below that (Ray runs jobs on a worker's main thread, where the alarm works)."""
    limit = int(settings.get("timeout") or 0)
    if limit and settings.get("writer", "heuristic") != "heuristic":
        rounds = int(settings.get("rounds", 3)) + 1
        limit = max(limit, int(float(settings.get("llm_timeout", 600.0)) * rounds) + 60)
    return limit


def fidelity_counts(verdict: Verdict) -> dict[str, int]:
    """Findings per fidelity code (F01xx)."""
    return {k: v for k, v in sorted(verdict.counts.items()) if k.startswith("F01")}


def heuristic(name: str, tools: list[Tool], work: Path, settings: dict[str, Any]) -> Verdict:
    from envdsl.synth.writer_heuristic import write_domain

    files = write_domain(name, tools)
    spec = work / f"{name}.env"
    spec.write_text(files.spec, encoding="utf-8")
    (work / f"{name}.seed.json").write_text(files.seed_json(), encoding="utf-8")
    return check_spec_dir(spec, mode=settings.get("gate_mode", "proptest"), examples=settings.get("examples", 2),
                          seed=settings.get("seed", 0), probes=files.probes, sources=files.sources)


def _alarm(seconds: int) -> Any:
    """A per-domain time limit where signals allow it (the main thread of a worker process)."""
    try:
        def on_alarm(signum: int, frame: Any) -> None:
            raise DomainTimeout()

        if seconds <= 0:
            raise ValueError
        previous = signal.signal(signal.SIGALRM, on_alarm)
        signal.alarm(seconds)
    except ValueError:  # not the main thread, or no limit
        return lambda: None

    def cancel() -> None:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)

    return cancel
