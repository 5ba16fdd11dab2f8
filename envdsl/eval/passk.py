"""pass^k (tau-bench): the chance that k independent trials of a task all succeed, averaged over tasks.

With n trials of a task of which c succeeded, the unbiased estimate is C(c, k) / C(n, k).
"""

from __future__ import annotations

from math import comb
from typing import Any


def pass_hat_k(successes: list[int], n: int, k: int) -> float:
    """Mean over tasks of C(c, k) / C(n, k); `successes` holds c per task, each of n trials."""
    if not 1 <= k <= n:
        raise ValueError(f"pass^{k} needs 1 <= k <= n trials (n={n})")
    if not successes:
        return 0.0
    return sum(comb(c, k) for c in successes) / (comb(n, k) * len(successes))


def passk_report(outcomes: list[dict[str, Any]], ks: list[int]) -> dict[str, Any]:
    """outcomes: {"task_id", "domain", "trial", "success"} rows. Per domain and overall: tasks, trials
    per task (the smallest count, so every task is scored on the same n) and pass^k for k <= n."""
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
            row[f"pass^{k}"] = round(pass_hat_k([sum(r[:n]) for r in task_results], n, k), 6) if k <= n else None
        report[name] = row
    return report


def render_table(report: dict[str, Any], ks: list[int]) -> str:
    """The report as a plain text table (what the CLI prints; rich is used there only for colour)."""
    head = ["domain", "tasks", "trials"] + [f"pass^{k}" for k in ks]
    rows = [[d, str(r["tasks"]), str(r["trials"])] + ["-" if r[f"pass^{k}"] is None else f"{r[f'pass^{k}']:.3f}"
                                                      for k in ks] for d, r in report.items()]
    widths = [max(len(x) for x in col) for col in zip(head, *rows)]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()  # noqa: E731
    return "\n".join([line(head), line(["-" * w for w in widths])] + [line(r) for r in rows])
