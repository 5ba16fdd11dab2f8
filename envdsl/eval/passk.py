"""pass^k (tau-bench): the chance that k independent trials of a task all succeed, averaged over tasks.

With n trials of a task of which c succeeded, the unbiased estimate is C(c, k) / C(n, k).
"""

from __future__ import annotations

import random
from math import comb
from typing import Any

BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
CONFIDENCE = 0.95


def pass_hat_k(successes: list[int], n: int, k: int) -> float:
    """Mean over tasks of C(c, k) / C(n, k); `successes` holds c per task, each of n trials."""
    if not 1 <= k <= n:
        raise ValueError(f"pass^{k} needs 1 <= k <= n trials (n={n})")
    if not successes:
        return 0.0
    return sum(comb(c, k) for c in successes) / (comb(n, k) * len(successes))


def bootstrap_interval(successes: list[int], n: int, k: int, resamples: int = BOOTSTRAP_RESAMPLES,
                       seed: int = BOOTSTRAP_SEED, confidence: float = CONFIDENCE) -> tuple[float, float]:
    """A percentile bootstrap interval for pass^k over tasks: resample the tasks with replacement (the
    trials of a task stay together, since they are not independent of the task), recompute pass^k, take
    the middle `confidence` share. Seeded, so the same results give the same interval."""
    if not successes:
        return (0.0, 0.0)
    rng = random.Random(seed)
    per_task = [comb(c, k) / comb(n, k) for c in successes]
    m = len(per_task)
    means = sorted(sum(rng.choice(per_task) for _ in range(m)) / m for _ in range(resamples))
    tail = (1.0 - confidence) / 2
    lo = means[int(tail * (resamples - 1))]
    hi = means[int(round((1.0 - tail) * (resamples - 1)))]
    return (round(lo, 6), round(hi, 6))


def passk_report(outcomes: list[dict[str, Any]], ks: list[int]) -> dict[str, Any]:
    """outcomes: {"task_id", "domain", "trial", "success"} rows. Per domain and overall: tasks, trials
    per task (the smallest count, so every task is scored on the same n), pass^k for k <= n and its
    95% bootstrap interval over tasks (`pass^k ci`, see bootstrap_interval)."""
    per_task: dict[tuple[str, str], list[bool]] = {}
    for o in outcomes:
        per_task.setdefault((o["domain"], o["task_id"]), []).append(bool(o["success"]))
    groups: dict[str, list[list[bool]]] = {}
    for (domain, _), results in sorted(per_task.items()):
        groups.setdefault(domain, []).append(results)
        groups.setdefault("all", []).append(results)
    report: dict[str, Any] = {}
    for name in sorted(groups, key=lambda g: (g == "all", g)):
        task_results = groups[name]
        n = min(len(r) for r in task_results)
        row: dict[str, Any] = {"tasks": len(task_results), "trials": n}
        for k in ks:
            counts = [sum(r[:n]) for r in task_results]
            row[f"pass^{k}"] = round(pass_hat_k(counts, n, k), 6) if k <= n else None
            row[f"pass^{k} ci"] = list(bootstrap_interval(counts, n, k)) if k <= n else None
        report[name] = row
    return report


def render_table(report: dict[str, Any], ks: list[int], agent: str | None = None, user: str | None = None) -> str:
    """The report as a plain text table (what the CLI prints; rich is used there only for colour), headed by
    the agent (and user) it scores; each pass^k with its 95% bootstrap interval over tasks in brackets."""
    def cell(r: dict[str, Any], k: int) -> str:
        value = r.get(f"pass^{k}")
        if value is None:
            return "-"
        ci = r.get(f"pass^{k} ci")
        return f"{value:.3f}" + (f" [{ci[0]:.2f}, {ci[1]:.2f}]" if ci else "")

    head = ["domain", "tasks", "trials"] + [f"pass^{k} [95% CI]" for k in ks]
    rows = [[d, str(r["tasks"]), str(r["trials"])] + [cell(r, k) for k in ks] for d, r in report.items()]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    title = [f"agent: {agent}" + (f"   user: {user}" if user else "")] if agent else []
    return "\n".join(title + [line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])
