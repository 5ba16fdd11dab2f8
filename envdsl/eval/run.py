"""What `envdsl eval` runs: rollouts with n trials per task (or an earlier rollout folder), then pass^k."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

from envdsl.eval.passk import passk_report
from envdsl.rollout.filters import FilterConfig
from envdsl.rollout.runner import RolloutConfig, judge_records, load_records, run_rollouts
from envdsl.tasks.io import read_jsonl


def evaluate(source: str | Path, load_env: Callable[[str], Any], cfg: RolloutConfig, ks: list[int],
             out_dir: str | Path | None, filters: FilterConfig | None = None, progress: bool = False
             ) -> dict[str, Any]:
    """pass^k per domain. `source` is a tasks JSONL (played now into out_dir with cfg.trials trials, resumably)
    or a rollout folder holding tasks.jsonl and runs/ (scored as it is)."""
    filters = filters or FilterConfig()
    src = Path(source)
    if src.is_dir():
        out = src
        tasks = read_jsonl(out / "tasks.jsonl")
        trials = None
    else:
        if out_dir is None:
            raise ValueError("give an output folder for the evaluation rollouts")
        out = Path(out_dir)
        tasks = read_jsonl(src)
        run_rollouts(tasks, out, load_env, cfg, filters, progress=progress)
        trials = cfg.trials
    records = judge_records(load_records(out, tasks, trials), tasks, load_env, cfg, filters)
    outcomes = [{"task_id": r["task_id"], "domain": r["domain"], "trial": r["trial"],
                 "success": r["verdict"]["success"]} for r in records]
    return {"passk": passk_report(outcomes, ks), "agent": records[0]["agent"] if records else cfg.agent,
            "conversations": len(records)}
