"""`envdsl synth`: inputs -> domains -> specs -> gate -> accepted/ and rejected/, resumable.

Output folder:
  plan.json       the domains (names and tool ids) and the settings that made them; a rerun reuses it
  journal.jsonl   one line per finished domain (the commit point: see journal.py)
  accepted/NAME/  NAME.env, NAME.seed.json, verdict.json
  rejected/NAME/  the same, verdict.json holding the reasons (diagnostics or failing properties)
  summary.json    figures over the whole journal, rewritten at the end of every run
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import threading
import time
from collections import Counter
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from envdsl.synth import naming as N
from envdsl.synth.graph import GraphConfig, build_domains
from envdsl.synth.journal import Journal
from envdsl.synth.sources import Tool, read_inputs
from envdsl.synth.worker import run_job

EXECUTORS = ("auto", "process", "thread", "ray")


@dataclass
class SynthConfig:
    inputs: list[str]
    out: str
    writer: str = "heuristic"  # or openai:MODEL
    workers: int = 2
    max_domains: int | None = None
    seed: int = 0
    executor: str = "auto"
    gate_mode: str = "proptest"
    examples: int = 2
    timeout: int = 120  # seconds per domain (process workers)
    ray_address: str | None = None  # --executor ray: a running cluster (else $RAY_ADDRESS, else a local one)
    graph: GraphConfig = field(default_factory=GraphConfig)
    # LLM writer
    base_url: str | None = None
    api_key: str | None = None
    rounds: int = 3
    requests_per_minute: float = 0.0  # 0: no limit
    llm_timeout: float = 600.0  # seconds per request: a whole spec is a long reply
    llm_retries: int = 4
    llm_backoff: float = 1.0
    max_tokens: int = 8192

    def settings(self) -> dict[str, Any]:
        """What a worker needs: plain data only (it crosses process boundaries)."""
        return {"writer": self.writer, "out": str(Path(self.out).resolve()), "gate_mode": self.gate_mode,
                "examples": self.examples, "seed": self.seed, "timeout": self.timeout, "base_url": self.base_url,
                "api_key": self.api_key, "rounds": self.rounds, "llm_timeout": self.llm_timeout,
                "llm_retries": self.llm_retries, "llm_backoff": self.llm_backoff, "max_tokens": self.max_tokens}


# --- planning ------------------------------------------------------------------------------------

def input_fingerprint(cfg: SynthConfig) -> str:
    h = hashlib.sha256()
    for p in sorted(cfg.inputs):
        path = Path(p)
        files = sorted(x for x in path.rglob("*") if x.is_file()) if path.is_dir() else [path]
        for f in files:
            st = f.stat()
            h.update(f"{f.resolve()}:{st.st_size}:{int(st.st_mtime)}\n".encode())
    h.update(json.dumps(asdict(cfg.graph), sort_keys=True).encode())
    return h.hexdigest()[:16]


def domain_name(index: int, tools: list[Tool]) -> str:
    api = Counter(t.api for t in tools).most_common(1)[0][0]
    slug = N.identifier(api.split(":")[-1] if ":" in api else api.split(".")[0], fallback="api", max_len=28)
    return f"d{index:05d}_{slug}".rstrip("_")


def make_plan(cfg: SynthConfig, tools: list[Tool], log: Callable[[str], None]) -> dict[str, Any]:
    plan_path = Path(cfg.out) / "plan.json"
    fingerprint = input_fingerprint(cfg)
    if plan_path.is_file():
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
        if plan.get("fingerprint") == fingerprint:
            log(f"resuming: {len(plan['domains'])} planned domains from {plan_path}")
            return plan
        raise SystemExit(f"error: {cfg.out} holds a run of other inputs or graph settings; use another -o")
    t0 = time.perf_counter()
    domains, figures = build_domains(tools, cfg.graph)
    figures["graph_seconds"] = round(time.perf_counter() - t0, 1)
    plan = {"fingerprint": fingerprint, "graph": asdict(cfg.graph), "figures": figures,
            "domains": [{"domain": domain_name(i + 1, d), "tools": [t.id for t in d]} for i, d in enumerate(domains)]}
    plan_path.parent.mkdir(parents=True, exist_ok=True)
    tmp = plan_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(plan, ensure_ascii=False) + "\n", encoding="utf-8")
    os.replace(tmp, plan_path)
    log(f"planned {len(domains)} domains from {figures['tools_sampled']} sampled tools "
        f"({figures['edges']} edges) in {figures['graph_seconds']}s")
    return plan


# --- running -------------------------------------------------------------------------------------

def run_synth(cfg: SynthConfig, *, progress: bool = True, stop_after: int | None = None,
              log: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Plan (or reuse the plan), then process every domain not yet in the journal. `stop_after`
    ends the run after that many domains, as a kill would (for tests)."""
    log = log or (lambda msg: print(msg, file=sys.stderr, flush=True))
    t0 = time.perf_counter()
    out = Path(cfg.out)
    out.mkdir(parents=True, exist_ok=True)
    tools = read_inputs(cfg.inputs)
    log(f"read {len(tools)} tools from {len(cfg.inputs)} input(s) in {time.perf_counter() - t0:.1f}s")
    plan = make_plan(cfg, tools, log)
    by_id = {t.id: t for t in tools}
    planned = plan["domains"][: cfg.max_domains] if cfg.max_domains else plan["domains"]
    journal = Journal(out / "journal.jsonl")
    done = journal.load()
    todo = [d for d in planned if d["domain"] not in done]
    log(f"{len(planned)} domains: {len(planned) - len(todo)} done before, {len(todo)} to do")
    jobs = ({"domain": d["domain"], "tools": [by_id[i].to_json() for i in d["tools"]]} for d in todo)
    settings = cfg.settings()
    counts: Counter[str] = Counter()
    finished = 0
    with Display(len(planned), len(planned) - len(todo), enabled=progress) as display:
        for result in execute(cfg, jobs, settings):
            journal.append(result)
            done[result["domain"]] = result
            counts[result["status"]] += 1
            display.update(result)
            finished += 1
            if stop_after is not None and finished >= stop_after:
                break
    summary = summarise(plan, planned, done, time.perf_counter() - t0, cfg)
    tmp = out / "summary.json.tmp"
    tmp.write_text(json.dumps(summary, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, out / "summary.json")
    return summary


def choose_executor(cfg: SynthConfig) -> str:
    if cfg.executor != "auto":
        return cfg.executor
    return "process" if cfg.writer == "heuristic" else "thread"


def execute(cfg: SynthConfig, jobs: Iterator[dict[str, Any]], settings: dict[str, Any]) -> Iterator[dict[str, Any]]:
    kind = choose_executor(cfg)
    if kind == "ray":
        from envdsl.synth.ray_executor import execute_ray

        yield from execute_ray(jobs, settings, cfg.workers, cfg.ray_address)
        return
    if kind == "thread":
        limiter = RateLimiter(cfg.requests_per_minute)
        settings = {**settings, "limiter": limiter}
        pool: Any = ThreadPoolExecutor(max_workers=cfg.workers)
    elif kind == "process":
        # fork: no re-import of __main__ (scripts and tests need no main guard); the gate drops each
        # generated module after use, so long-lived workers do not grow
        pool = ProcessPoolExecutor(max_workers=cfg.workers, mp_context=multiprocessing.get_context("fork"))
    else:
        raise ValueError(f"unknown executor {kind!r} ({', '.join(EXECUTORS)})")
    with pool:
        yield from bounded(pool, jobs, settings, window=max(2, cfg.workers * 2))


def bounded(pool: Any, jobs: Iterator[dict[str, Any]], settings: dict[str, Any], window: int
            ) -> Iterator[dict[str, Any]]:
    """Keep `window` jobs in flight; yield results as they finish. Leaving early cancels the rest."""
    pending: set[Future[dict[str, Any]]] = set()
    try:
        for job in jobs:
            pending.add(pool.submit(run_job, job, settings))
            if len(pending) >= window:
                finished, pending = wait(pending, return_when=FIRST_COMPLETED)
                for f in sorted(finished, key=lambda f: f.result()["domain"]):
                    yield f.result()
        while pending:
            finished, pending = wait(pending, return_when=FIRST_COMPLETED)
            for f in sorted(finished, key=lambda f: f.result()["domain"]):
                yield f.result()
    finally:
        for f in pending:
            f.cancel()


class RateLimiter:
    """At most `per_minute` acquisitions a minute, spaced evenly, shared by threads. 0: no limit."""

    def __init__(self, per_minute: float):
        self.interval = 60.0 / per_minute if per_minute > 0 else 0.0
        self.next_at = 0.0
        self.lock = threading.Lock()

    def acquire(self) -> None:
        if not self.interval:
            return
        with self.lock:
            now = time.monotonic()
            at = max(now, self.next_at)
            self.next_at = at + self.interval
        if at > now:
            time.sleep(at - now)


# --- summary and display -------------------------------------------------------------------------

def summarise(plan: dict[str, Any], planned: list[dict[str, Any]], done: dict[str, dict[str, Any]],
              seconds: float, cfg: SynthConfig) -> dict[str, Any]:
    names = {d["domain"] for d in planned}
    records = [done[n] for n in sorted(names) if n in done]
    accepted = [r for r in records if r["status"] == "accepted"]
    rejected = [r for r in records if r["status"] != "accepted"]
    calls = sum(r.get("llm_calls", 0) for r in records)
    tokens = sum(r.get("prompt_tokens", 0) + r.get("completion_tokens", 0) for r in records)
    per = len(accepted)  # None per accepted domain when nothing was accepted, not the total over 1
    return {
        "writer": cfg.writer, "gate": cfg.gate_mode, "examples": cfg.examples, "seed": cfg.seed,
        "embedder": plan["graph"]["embedder"], "graph": plan["figures"],
        "domains_found": len(plan["domains"]), "domains_planned": len(planned), "domains_done": len(records),
        "accepted": len(accepted), "rejected": len(rejected),
        "rejected_by_reason": dict(sorted(Counter(r.get("reason") or "unknown" for r in rejected).items())),
        # every failing check of a rejected domain, not only its first: a domain counts once per code
        "rejected_by_code": dict(sorted(Counter(x for r in rejected for x in (r.get("reasons") or [])).items())),
        "accepted_with_fidelity_findings": sum(1 for r in accepted if r.get("fidelity")),
        "llm_calls": calls, "llm_tokens": tokens,
        "llm_calls_per_accepted": round(calls / per, 2) if per else None,
        "llm_tokens_per_accepted": round(tokens / per, 1) if per else None,
        "tools_in_domains": sum(r["tools"] for r in records),
        "tools_covered": sum(r["tools"] for r in accepted),
        "apis_covered": len({a for r in accepted for a in r.get("apis", [])}),
        "seconds_this_run": round(seconds, 1),
        "worker_seconds_total": round(sum(r.get("seconds", 0.0) for r in records), 1),
    }


class Display:
    """A rich progress bar on a terminal; a line every 100 domains otherwise (logs of nohup runs)."""

    def __init__(self, total: int, completed: int, enabled: bool = True):
        self.total, self.completed = total, completed
        self.counts: Counter[str] = Counter()
        self.t0 = time.perf_counter()
        self.rich = enabled and sys.stderr.isatty()
        self.enabled = enabled
        self.progress: Any = None

    def __enter__(self) -> "Display":
        if self.rich:
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

            self.progress = Progress(TextColumn("synth"), BarColumn(), MofNCompleteColumn(),
                                     TextColumn("{task.description}"), TimeRemainingColumn(), transient=False)
            self.progress.__enter__()
            self.task = self.progress.add_task("", total=self.total, completed=self.completed)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.progress is not None:
            self.progress.__exit__(*exc)

    def update(self, result: dict[str, Any]) -> None:
        self.counts[result["status"]] += 1
        self.completed += 1
        text = f"accepted {self.counts['accepted']} rejected {self.counts['rejected']}"
        if self.progress is not None:
            self.progress.update(self.task, advance=1, description=text)
        elif self.enabled and (self.completed % 100 == 0 or self.completed == self.total):
            print(f"[{time.perf_counter() - self.t0:7.0f}s] {self.completed}/{self.total} {text}",
                  file=sys.stderr, flush=True)
