"""What `python -m train` says while it runs and when it ends, for people watching a terminal or a log.

Progress: one stderr line when a phase starts and one per logging step (step/total, loss, elapsed), from
a TrainerCallback on the main process only; it works with tqdm off (the pipeline turns tqdm off because
its bars garble logs). The closing summary says where the checkpoints and summaries are and what the
numbers mean.
"""

from __future__ import annotations

import sys
import time
from typing import Any

from transformers import TrainerCallback


class ProgressLines(TrainerCallback):  # type: ignore[misc]
    def __init__(self, phase: int, name: str, conversations: int):
        self.phase, self.name, self.conversations = phase, name, conversations
        self.began = time.time()

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self.began = time.time()
        if state.is_world_process_zero:
            _say(f"phase {self.phase} ({self.name}): training on {self.conversations} conversation(s), "
                 f"{state.max_steps} step(s)")

    def on_log(self, args: Any, state: Any, control: Any, logs: dict[str, Any] | None = None, **kwargs: Any) -> None:
        if state.is_world_process_zero and logs and "loss" in logs:
            _say(f"phase {self.phase}: step {state.global_step}/{state.max_steps} loss {logs['loss']:.4f} "
                 f"({time.time() - self.began:.0f}s)")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def render_summary(result: dict[str, Any]) -> str:
    """The closing lines of a training run."""
    lines = [f"training done; everything is under {result['output_dir']}/"]
    for phase, s in sorted(result.get("phases", {}).items()):
        first, final = s.get("first_loss"), s.get("final_loss")
        losses = f"loss {first:.3f} -> {final:.3f}" if first is not None and final is not None else "no loss logged"
        lines.append(f"  phase {phase} ({s['name']}): {s['conversations']} conversation(s) from "
                     f"{', '.join(sorted(s.get('domains') or {})) or '-'}; {s['steps']} step(s), {losses}, "
                     f"{s['wall_time_s']:.0f}s; checkpoint {s['final_checkpoint']}")
    lines += [f"  summaries: {result['output_dir']}/run_summary.json and phaseN_*/summary.json",
              "  the loss is the mean cross-entropy per assistant token (prompts, user turns and tool results carry "
              "no loss); it should fall within a phase. Whether the model got better at the task is what "
              "`envdsl eval TASKS --agent hf:CHECKPOINT` measures (pass^k on held-out tasks)."]
    return "\n".join(lines)
