"""What `envdsl eval` runs: rollouts with n trials per task (or an earlier rollout folder), then pass^k.

Besides the returned report, the run folder gets two files:

    OUT/results.jsonl   one row per task: domain, trials, successes, each trial's outcome and filter reasons
    OUT/eval.json       the report: pass^k per domain with 95% bootstrap intervals over tasks, agent, user
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from envdsl.eval.passk import BOOTSTRAP_RESAMPLES, BOOTSTRAP_SEED, CONFIDENCE, passk_report
from envdsl.rollout.filters import FilterConfig
from envdsl.rollout.identity import read_run
from envdsl.rollout.runner import RolloutConfig, judge_records, load_records, run_rollouts
from envdsl.tasks.io import TaskFileError, read_tasks, write_json, write_jsonl


def evaluate(source: str | Path, load_env: Callable[[str], Any], cfg: RolloutConfig, ks: list[int],
             out_dir: str | Path | None, filters: FilterConfig | None = None, progress: bool = False
             ) -> dict[str, Any]:
    """pass^k per domain. `source` is a tasks JSONL (played now into out_dir with cfg.trials trials, resumably)
    or a rollout folder holding tasks.jsonl and runs/ (scored as it is)."""
    filters = filters or FilterConfig()
    src = Path(source)
    if src.is_dir():
        out = src
        if not (out / "tasks.jsonl").is_file() or not (out / "runs").is_dir():
            raise TaskFileError(f"{src}: not a rollout folder (expected tasks.jsonl and runs/ from `envdsl rollout` "
                                "or `envdsl eval -o`); give a tasks file and -o OUT to play one")
        tasks = read_tasks(out / "tasks.jsonl")
        trials = None
        unplayable = []
        run = read_run(out)
    else:
        if out_dir is None:
            raise ValueError("give an output folder for the evaluation rollouts")
        out = Path(out_dir)
        tasks = read_tasks(src)
        unplayable = run_rollouts(tasks, out, load_env, cfg, filters, progress=progress)["unplayable"]
        trials = cfg.trials
        run = read_run(out)
    records = judge_records(load_records(out, tasks, trials), tasks, load_env, cfg, filters)
    if not records:
        raise TaskFileError(f"{out}: no finished conversations to score")
    outcomes = [{"task_id": r["task_id"], "domain": r["domain"], "trial": r["trial"],
                 "success": r["verdict"]["success"]} for r in records]
    results = task_results(records)
    report = {"passk": passk_report(outcomes, ks), "agent": run.get("agent") or records[0]["agent"],
              "user": run.get("user") or records[0].get("user"), "conversations": len(records),
              "tasks": len(results), "interval": interval_note(), "unplayable": unplayable}
    write_jsonl(out / "results.jsonl", results)
    write_json(out / "eval.json", report)
    return report


def interval_note() -> str:
    return (f"{int(CONFIDENCE * 100)}% percentile bootstrap over tasks ({BOOTSTRAP_RESAMPLES} resamples, "
            f"seed {BOOTSTRAP_SEED}); a task's trials are resampled together")


def task_results(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per task, in task-id order: what pass^k is computed from, for people to look into."""
    by_task: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_task.setdefault(r["task_id"], []).append(r)
    rows = []
    for task_id in sorted(by_task):
        trials = sorted(by_task[task_id], key=lambda r: r["trial"])
        rows.append({"task_id": task_id, "domain": trials[0]["domain"], "agent": trials[0].get("agent"),
                     "trials": len(trials), "successes": sum(bool(r["verdict"]["success"]) for r in trials),
                     "outcomes": [{"trial": r["trial"], "success": bool(r["verdict"]["success"]),
                                   "kept": bool(r["verdict"]["keep"]), "reasons": r["verdict"]["reasons"],
                                   "ended": r.get("ended")} for r in trials]})
    return rows
