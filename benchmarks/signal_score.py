"""Scoring a checkpoint on held-out tasks for benchmarks/learning_signal.py: assistant-token loss and next-call
proxies on the held-out oracle conversations (teacher forcing, gold history), and pass^1 from playing the held-out
tasks with `envdsl eval`'s code against the scripted user."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path
from typing import Any


def do_nothing_passes(task: dict[str, Any]) -> bool:
    """Whether an agent that never calls a tool passes `task` by pass^1's own rules (envdsl.rollout.filters): the
    gold state is the initial one, and the gold calls, where success needs them, are matched by no call at all.
    Two-actor tasks (assertions run after the conversation) count as not passed. The benchmark reports this share
    next to pass^1, so that a model passing only such tasks is not mistaken for one that learnt something."""
    from envdsl.rollout.filters import FilterConfig, calls_match, needs_calls

    if task.get("gold_state_hash") != task.get("initial_state_hash") or task.get("assertions"):
        return False
    return not needs_calls(task) or calls_match({"agent_calls": []}, task, {}, FilterConfig().calls_exact)


def assistant_loss(backend: Any, rows: list[dict[str, Any]]) -> tuple[float, int]:
    """Summed cross-entropy and count of the assistant tokens of `rows`, with the training labels."""
    import torch
    import torch.nn.functional as F

    total, tokens = 0.0, 0
    for row in rows:
        enc = backend.tokenizer.apply_chat_template(row["messages"], tools=json.loads(row["tools"]), tokenize=True,
                                                    return_dict=True, return_assistant_tokens_mask=True)
        ids = torch.tensor([enc["input_ids"]])
        mask = torch.tensor(enc["assistant_masks"][1:], dtype=torch.bool)  # a token is predicted from the one before
        with torch.no_grad():
            logits = backend.model(ids).logits[0, :-1]
        total += float(F.cross_entropy(logits[mask].float(), ids[0, 1:][mask], reduction="sum"))
        tokens += int(mask.sum())
    return total, tokens


def next_call_probe(backend: Any, rows: list[dict[str, Any]], max_new_tokens: int) -> list[int]:
    """[gold call turns, well-formed calls, right tool name, right name and arguments] over `rows`: at each gold
    tool-call turn, given the gold history, the greedy reply's first call against the gold first call."""
    from train.toolcall import parse_tool_calls

    counts = [0, 0, 0, 0]
    for row in rows:
        tools = json.loads(row["tools"])
        live = [{k: v for k, v in m.items() if v is not None} for m in row["messages"]]
        for i, gold in enumerate(live):
            if gold["role"] != "assistant" or not gold.get("tool_calls"):
                continue
            parsed = parse_tool_calls(backend.generate_text(live[:i], tools, max_tokens=max_new_tokens), None)
            want = gold["tool_calls"][0]["function"]
            got = parsed.tool_calls[0] if parsed.tool_calls and not parsed.errors else None
            counts[0] += 1
            counts[1] += got is not None
            counts[2] += got is not None and got.name == want["name"]
            counts[3] += got is not None and got.name == want["name"] and got.arguments == json.loads(want["arguments"])
    return counts


def play(checkpoint: str, tasks: Path, out: Path, max_new_tokens: int, max_turns: int) -> dict[str, Any]:
    """`envdsl eval TASKS --agent hf:CHECKPOINT --trials 1 -k 1`, in this process (the model loads once)."""
    from envdsl.eval.run import evaluate
    from envdsl.llm.hf_local import MAX_NEW_TOKENS_ENV
    from envdsl.rollout.runner import RolloutConfig
    from envdsl.session import environment_from_spec

    os.environ[MAX_NEW_TOKENS_ENV] = str(max_new_tokens)
    shutil.rmtree(out, ignore_errors=True)  # rollouts resume from their folder; a new model must not reuse them
    cfg = RolloutConfig(agent=f"hf:{checkpoint}", trials=1, max_turns=max_turns, concurrency=1)
    passk: dict[str, Any] = evaluate(tasks, environment_from_spec, cfg, [1], out)["passk"]
    return passk.get("all", {"tasks": 0, "pass^1": None})


def ratio(numerator: float, denominator: float) -> float | None:
    return round(numerator / denominator, 4) if denominator else None


def score_groups(checkpoint: str, groups: dict[str, tuple[list[dict[str, Any]], Path]], out: Path,
                 max_new_tokens: int, max_turns: int) -> dict[str, dict[str, Any]]:
    """group -> loss, call_ok, name_ok, args_ok, pass^1 for one checkpoint; `groups` maps a group name to its
    held-out oracle conversations and the task file they came from."""
    from envdsl.llm.hf_local import HFChatBackend

    backend = HFChatBackend(checkpoint, max_new_tokens=max_new_tokens)
    scores = {}
    for name, (rows, tasks) in groups.items():
        began = time.perf_counter()
        ce, tokens = assistant_loss(backend, rows)
        turns, call_ok, name_ok, args_ok = next_call_probe(backend, rows, max_new_tokens)
        played = play(checkpoint, tasks, out / name, max_new_tokens, max_turns)
        scores[name] = {
            "loss": ratio(ce, tokens), "assistant_tokens": tokens, "call_turns": turns,
            "call_ok": ratio(call_ok, turns), "name_ok": ratio(name_ok, turns), "args_ok": ratio(args_ok, turns),
            "tasks": played["tasks"], "pass^1": played["pass^1"], "seconds": round(time.perf_counter() - began, 1),
        }
    return scores
