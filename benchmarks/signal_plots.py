"""PNG plots of benchmarks/learning_signal.py's results (matplotlib, headless). Each bar or point is the mean
over seeds, the error bar the sample standard deviation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

METRICS = ("pass^1", "call_ok", "name_ok", "args_ok")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")  # no display on the benchmark machines
    import matplotlib.pyplot as plt

    return plt


def _mean_std(cell: dict[str, Any]) -> tuple[float, float]:
    return (cell["mean"] or 0.0, cell["std"] or 0.0)


def plot_scaling(scaling: dict[str, Any], title: str, path: Path) -> Path:
    """scaling: {"ks": [...], "by_k": {K: {metric: spread}}} -> on unseen domains, the scores (left) and the held-out
    assistant-token loss (right) against K (log scale): while the scores sit at 0 the loss still shows a trend."""
    plt = _pyplot()
    fig, (ax, lx) = plt.subplots(1, 2, figsize=(10, 4))
    ks = [int(k) for k in scaling["ks"]]
    for metric in METRICS:
        means, stds = zip(*(_mean_std(scaling["by_k"][str(k)][metric]) for k in ks)) if ks else ((), ())
        ax.errorbar(ks, means, yerr=stds, marker="o", capsize=3, label=metric)
    ax.set_ylabel("score on the fixed unseen domains")
    ax.set_ylim(-0.05, 1.05)
    ax.legend(fontsize=8)
    cells = [scaling["by_k"][str(k)] for k in ks]
    if ks and all(c.get("loss") and c["loss"]["mean"] is not None for c in cells):
        means, stds = zip(*(_mean_std(c["loss"]) for c in cells))
        lx.errorbar(ks, means, yerr=stds, marker="o", capsize=3, color="black")
    lx.set_ylabel("loss per assistant token, unseen")
    for axis in (ax, lx):
        axis.set_xscale("log", base=2)
        axis.set_xticks(ks, [str(k) for k in ks])
        axis.set_xlabel("training domains K (same number of conversations)")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


def plot_bars(arms: dict[str, dict[str, Any]], title: str, path: Path) -> Path:
    """arms: {arm: {metric: spread}} -> grouped bars, one group per metric."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4))
    width = 0.8 / max(1, len(arms))
    for i, (arm, cells) in enumerate(arms.items()):
        means, stds = zip(*(_mean_std(cells[m]) for m in METRICS))
        ax.bar([j + i * width for j in range(len(METRICS))], means, width, yerr=stds, capsize=3, label=arm)
    ax.set_xticks([j + width * (len(arms) - 1) / 2 for j in range(len(METRICS))], list(METRICS))
    ax.set_ylim(0, 1.05)
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path
