"""Per-phase run summary: losses, token counts and throughput, written as JSON by the main process."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def supervised_token_count(dataset) -> int:
    """Tokens that carry loss (label != -100) in one pass over the prepared dataset, counted with Arrow (fast)."""
    import pyarrow.compute as pc

    labels = dataset.data.column("labels")
    return int(pc.sum(pc.not_equal(pc.list_flatten(labels), -100)).as_py() or 0)


def summarize_phase(trainer, train_output, extra: dict[str, Any]) -> dict[str, Any]:
    history = trainer.state.log_history
    losses = [{"step": entry["step"], "loss": entry["loss"]} for entry in history if "loss" in entry]
    logged_tokens = [entry["num_tokens"] for entry in history if "num_tokens" in entry]
    # TRL counts input tokens over all ranks; the last logged value can lag the final step, so prefer its counter.
    tokens = int(getattr(trainer, "_total_train_tokens", 0) or (logged_tokens[-1] if logged_tokens else 0))
    runtime = float(train_output.metrics.get("train_runtime", 0.0))
    world_size = trainer.accelerator.num_processes
    summary = {
        **extra,
        "steps": trainer.state.global_step,
        "world_size": world_size,
        "train_runtime_s": runtime,
        "train_loss": train_output.training_loss,
        "first_loss": losses[0]["loss"] if losses else None,
        "final_loss": losses[-1]["loss"] if losses else None,
        "losses": losses,
        "tokens": tokens,
        "tokens_per_second": tokens / runtime if runtime > 0 else None,
        "tokens_per_second_per_device": tokens / runtime / world_size if runtime > 0 else None,
        "supervised_tokens_per_epoch": supervised_token_count(trainer.train_dataset),
    }
    return summary


def write_json(path: str | Path, payload: dict[str, Any]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=2, sort_keys=False) + "\n", encoding="utf-8")
