"""Does training on envdsl trajectories teach anything? The tiny model, trained from scratch, scored on held-out tasks.

    OMP_NUM_THREADS=2 python benchmarks/learning_signal.py            # about 15 minutes on 2 CPU cores
    python benchmarks/learning_signal.py --quick                       # smoke run, a couple of minutes

Tasks are sampled from every domain in specs/ and split per domain into training and held-out tasks; the domains
in --unseen (default projects and tau2_airline) give no training data at all. Oracle rollouts of the training tasks
of the other ("seen") domains train, from the same tiny base (tokenizer and initial weights):
  two_phase     `python -m train`'s schedule: phase 1 on the seen general domains, phase 2 on the vertical domain
  general_only  the phase-1 checkpoint of that run (the vertical domain is unseen to it)
  mixed         one phase on the general and vertical data together, the same conversations and epochs
and `base` (untrained) is the reference. Each is scored on the held-out tasks of three groups, seen general
domains, the vertical domain (tau2_retail) and unseen domains, with:
  loss          mean cross-entropy per assistant token of the held-out oracle conversations (teacher forcing)
  call_ok       at each gold tool-call turn of those conversations, given the gold history: share of turns where
                the greedy reply holds a well-formed <tool_call> block (parses, has a name), ...
  name_ok       ... names the gold tool, ...
  args_ok       ... and also has exactly the gold arguments
  pass^1        `envdsl eval`'s pass^1: the model plays each held-out task once against the scripted user

A ~100K-parameter model is expected to score near 0 on pass^1; the loss and the next-call proxies are where a
learning signal can show. Results go to benchmarks/results/learning_signal.json.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

# before torch is imported: a 2-core machine thrashes with the default thread pool
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
for _key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_key, "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_common import DEFAULT_RESULTS, print_table, write_results  # noqa: E402

TINY_CONFIG = REPO / "configs" / "train" / "tiny_cpu.yaml"
# The prompts (policy + tool schemas) are 3K-7K tokens with a 2048-token BPE; the tiny config's 512-token
# vocabulary and 1024-token max_length would truncate every assistant turn away.
TINY_OVERRIDES = ["model.tiny.vocab_size=2048", "model.tiny.max_position_embeddings=16384", "data.max_length=8192",
                  "training.per_device_train_batch_size=1", "training.disable_tqdm=true"]
MODELS = ("base", "general_only", "two_phase", "mixed")
GROUPS = ("seen", "vertical", "unseen")


@dataclass
class Sizes:
    tasks_per_domain: int
    heldout_per_domain: int
    epochs: int
    max_new_tokens: int
    max_turns: int


FULL = Sizes(tasks_per_domain=10, heldout_per_domain=2, epochs=2, max_new_tokens=48, max_turns=6)
QUICK = Sizes(tasks_per_domain=3, heldout_per_domain=1, epochs=1, max_new_tokens=24, max_turns=3)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes: checks the script runs, figures mean little")
    ap.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="folder for learning_signal.json")
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "learning_signal", help="tasks, rollouts, models")
    ap.add_argument("--specs", default=str(REPO / "specs"), help="spec folder (every domain in it is sampled)")
    ap.add_argument("--unseen", default="projects,tau2_airline", help="domains held out of training entirely")
    ap.add_argument("--vertical", default="tau2_retail", help="the phase-2 domain")
    ap.add_argument("--seed", type=int, default=0)
    for field, default in asdict(FULL).items():
        ap.add_argument(f"--{field.replace('_', '-')}", type=int, default=None, help=f"default {default}")
    return ap.parse_args()


def envdsl(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "envdsl", *args], check=True, cwd=REPO)


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")
    return path


# ---- data


def sample_and_split(work: Path, specs: str, sizes: Sizes, seed: int, unseen: set[str]) -> tuple[list, list]:
    """Training tasks (seen domains only) and held-out tasks (the last few of every domain)."""
    envdsl("tasks", specs, "-n", str(sizes.tasks_per_domain), "--seed", str(seed), "-o", str(work / "tasks.jsonl"))
    by_domain: dict[str, list[dict[str, Any]]] = {}
    for task in read_jsonl(work / "tasks.jsonl"):
        by_domain.setdefault(task["domain"], []).append(task)
    missing = unseen - set(by_domain)
    if missing:
        sys.exit(f"--unseen names domains not in {specs}: {sorted(missing)}")
    train, heldout = [], []
    for domain, tasks in sorted(by_domain.items()):
        heldout += tasks[-sizes.heldout_per_domain:]
        if domain not in unseen:
            train += tasks[:-sizes.heldout_per_domain]
    return train, heldout


def oracle_dataset(tasks: list[dict[str, Any]], out: Path) -> Path:
    envdsl("rollout", str(write_jsonl(out / "input.jsonl", tasks)), "-o", str(out), "--agent", "oracle")
    return out / "dataset"


def load_rows(dataset: Path) -> list[dict[str, Any]]:
    return [row for shard in sorted(dataset.glob("shard-*.jsonl")) for row in read_jsonl(shard)]


# ---- training


def train_models(dataset: Path, work: Path, sizes: Sizes, vertical: str, seed: int) -> tuple[dict, dict]:
    """Checkpoint folder per model, and what each training phase reported."""
    from train.config import load_config
    from train.data import load_trajectories
    from train.phases import PhaseStart, distributed_state, final_dir, run, train_phase

    overrides = [*TINY_OVERRIDES, f"data.train_dir={dataset}", f"training.num_train_epochs={sizes.epochs}",
                 f"seed={seed}", f"data.vertical_domains=[{vertical}]"]
    two = load_config(TINY_CONFIG, [*overrides, f"output_dir={work / 'two_phase'}"])
    result = run(two)
    base = str(Path(two.output_dir) / "base")

    # One phase over every seen domain, vertical included, from the same base. train.phases has no mixed
    # schedule of its own, so the phase-1 step is run directly on the whole dataset.
    mixed = load_config(TINY_CONFIG, [*overrides, f"output_dir={work / 'mixed'}"])
    data = load_trajectories(dataset)
    counts: dict[str, int] = {}
    for domain in data["domain"]:
        counts[domain] = counts.get(domain, 0) + 1
    mixed_summary = train_phase(mixed, 1, data.select_columns(["messages", "tools"]),
                                PhaseStart(model_path=base, tokenizer_path=base, adapter_path=None),
                                dict(sorted(counts.items())), distributed_state())

    def brief(s: dict[str, Any]) -> dict[str, Any]:
        return {k: s[k] for k in ("conversations", "steps", "first_loss", "final_loss", "train_loss", "wall_time_s")}

    checkpoints = {"base": base, "general_only": str(final_dir(two.output_dir, 1)),
                   "two_phase": str(final_dir(two.output_dir, 2)), "mixed": str(final_dir(mixed.output_dir, 1))}
    training = {"two_phase.phase1": brief(result["phases"]["1"]), "two_phase.phase2": brief(result["phases"]["2"]),
                "mixed": brief(mixed_summary)}
    return checkpoints, training


# ---- scoring


def assistant_loss(backend: Any, rows: list[dict[str, Any]]) -> dict[str, list[float]]:
    """Per domain: [sum of cross-entropy, assistant tokens] over the rows, with the training labels."""
    import torch
    import torch.nn.functional as F

    out: dict[str, list[float]] = {}
    for row in rows:
        enc = backend.tokenizer.apply_chat_template(row["messages"], tools=json.loads(row["tools"]), tokenize=True,
                                                    return_dict=True, return_assistant_tokens_mask=True)
        ids = torch.tensor([enc["input_ids"]])
        mask = torch.tensor(enc["assistant_masks"][1:], dtype=torch.bool)  # a token is predicted from the one before
        with torch.no_grad():
            logits = backend.model(ids).logits[0, :-1]
        ce = F.cross_entropy(logits[mask].float(), ids[0, 1:][mask], reduction="sum")
        acc = out.setdefault(row["domain"], [0.0, 0.0])
        acc[0] += float(ce)
        acc[1] += int(mask.sum())
    return out


def next_call_probe(backend: Any, rows: list[dict[str, Any]], max_new_tokens: int) -> dict[str, list[int]]:
    """Per domain: [gold call turns, well-formed calls, right tool name, right name and arguments]."""
    from train.toolcall import parse_tool_calls

    out: dict[str, list[int]] = {}
    tools_cache: dict[str, Any] = {}
    for row in rows:
        tools = tools_cache.setdefault(row["tools"], json.loads(row["tools"]))
        live = [{k: v for k, v in m.items() if v is not None} for m in row["messages"]]
        for i, gold in enumerate(live):
            if gold["role"] != "assistant" or not gold.get("tool_calls"):
                continue
            parsed = parse_tool_calls(backend.generate_text(live[:i], tools, max_tokens=max_new_tokens), None)
            want = gold["tool_calls"][0]["function"]
            got = parsed.tool_calls[0] if parsed.tool_calls and not parsed.errors else None
            counts = out.setdefault(row["domain"], [0, 0, 0, 0])
            counts[0] += 1
            counts[1] += got is not None
            counts[2] += got is not None and got.name == want["name"]
            counts[3] += got is not None and got.name == want["name"] and got.arguments == json.loads(want["arguments"])
    return out


def play(checkpoint: str, heldout: Path, out: Path, sizes: Sizes) -> dict[str, Any]:
    """`envdsl eval HELDOUT --agent hf:CHECKPOINT --trials 1 -k 1`, in this process (the model loads once)."""
    import shutil

    from envdsl.eval.run import evaluate
    from envdsl.llm.hf_local import MAX_NEW_TOKENS_ENV
    from envdsl.rollout.runner import RolloutConfig
    from envdsl.session import environment_from_spec

    os.environ[MAX_NEW_TOKENS_ENV] = str(sizes.max_new_tokens)
    shutil.rmtree(out, ignore_errors=True)  # rollouts resume from their folder; a new model must not reuse them
    cfg = RolloutConfig(agent=f"hf:{checkpoint}", trials=1, max_turns=sizes.max_turns, concurrency=1)
    return evaluate(heldout, environment_from_spec, cfg, [1], out)["passk"]  # type: ignore[no-any-return]


def group_of(domain: str, vertical: str, unseen: set[str]) -> str:
    return "vertical" if domain == vertical else "unseen" if domain in unseen else "seen"


def score(checkpoint: str, rows: list[dict[str, Any]], heldout: Path, out: Path, sizes: Sizes, vertical: str,
          unseen: set[str]) -> dict[str, Any]:
    from envdsl.llm.hf_local import HFChatBackend

    backend = HFChatBackend(checkpoint, max_new_tokens=sizes.max_new_tokens)
    began = time.perf_counter()
    loss = assistant_loss(backend, rows)
    probe = next_call_probe(backend, rows, sizes.max_new_tokens)
    passk = play(checkpoint, heldout, out, sizes)
    per_domain = {}
    for domain in sorted(set(loss) | set(probe) | (set(passk) - {"all"})):
        played = passk.get(domain, {})
        per_domain[domain] = {"loss": loss.get(domain, [0.0, 0.0]), "probe": probe.get(domain, [0, 0, 0, 0]),
                              "pass1": played.get("pass^1"), "tasks": played.get("tasks", 0)}
    groups = {}
    for group in GROUPS:
        members = [d for d in per_domain if group_of(d, vertical, unseen) == group]
        ce = sum(per_domain[d]["loss"][0] for d in members)
        tokens = sum(per_domain[d]["loss"][1] for d in members)
        probe_sum = [sum(per_domain[d]["probe"][j] for d in members) for j in range(4)]
        tasks = sum(per_domain[d]["tasks"] for d in members)
        passed = sum((per_domain[d]["pass1"] or 0.0) * per_domain[d]["tasks"] for d in members)
        turns = probe_sum[0]
        groups[group] = {
            "domains": members,
            "loss": round(ce / tokens, 4) if tokens else None,
            "assistant_tokens": int(tokens),
            "call_turns": turns,
            "call_ok": round(probe_sum[1] / turns, 4) if turns else None,
            "name_ok": round(probe_sum[2] / turns, 4) if turns else None,
            "args_ok": round(probe_sum[3] / turns, 4) if turns else None,
            "tasks": tasks,
            "pass^1": round(passed / tasks, 4) if tasks else None,
        }
    return {"groups": groups, "per_domain": per_domain, "score_seconds": round(time.perf_counter() - began, 1)}


def main() -> None:
    args = parse_args()
    sizes = QUICK if args.quick else FULL
    for field in asdict(sizes):
        if getattr(args, field) is not None:
            setattr(sizes, field, getattr(args, field))
    unseen = {d for d in args.unseen.split(",") if d}
    if args.vertical in unseen:
        sys.exit("the vertical domain cannot also be unseen")
    work = args.work.resolve() / ("quick" if args.quick else "full")
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    train_tasks, heldout_tasks = sample_and_split(work, args.specs, sizes, args.seed, unseen)
    if args.vertical not in {t["domain"] for t in train_tasks}:
        sys.exit(f"no training task of the vertical domain {args.vertical}")
    train_data = oracle_dataset(train_tasks, work / "rollouts" / "train")
    heldout_data = oracle_dataset(heldout_tasks, work / "rollouts" / "heldout")
    heldout_path = write_jsonl(work / "heldout.jsonl", heldout_tasks)
    heldout_rows = load_rows(heldout_data)
    timings["data_s"] = round(time.perf_counter() - t0, 1)

    t1 = time.perf_counter()
    checkpoints, training = train_models(train_data, work, sizes, args.vertical, args.seed)
    timings["train_s"] = round(time.perf_counter() - t1, 1)

    t2 = time.perf_counter()
    models = {name: score(checkpoints[name], heldout_rows, heldout_path, work / "eval" / name, sizes, args.vertical,
                          unseen) for name in MODELS}
    timings["score_s"] = round(time.perf_counter() - t2, 1)
    timings["total_s"] = round(time.perf_counter() - t0, 1)

    rows = []
    for name in MODELS:
        for group in GROUPS:
            g = models[name]["groups"][group]
            rows.append([name, group, g["loss"], g["call_ok"], g["name_ok"], g["args_ok"], g["pass^1"],
                         f"{g['call_turns']}/{g['tasks']}"])
    print_table(f"held-out tasks (train: {len(train_tasks)} tasks of {len({t['domain'] for t in train_tasks})} "
                f"domains; unseen: {', '.join(sorted(unseen))}; vertical: {args.vertical})",
                ["model", "group", "loss", "call_ok", "name_ok", "args_ok", "pass^1", "turns/tasks"], rows)
    print_table(f"\n{args.vertical}: two-phase vs one mixed phase (same data and epochs)",
                ["model", "loss", "call_ok", "name_ok", "args_ok", "pass^1"],
                [[name, *(models[name]["groups"]["vertical"][k] for k in ("loss", "call_ok", "name_ok", "args_ok",
                                                                           "pass^1"))]
                 for name in ("two_phase", "mixed", "general_only")])
    print("timings:", timings)
    write_results(args.results, "learning_signal", {
        "quick": args.quick, "sizes": asdict(sizes), "seed": args.seed, "vertical": args.vertical,
        "unseen": sorted(unseen), "omp_num_threads": os.environ["OMP_NUM_THREADS"],
        "train_tasks": len(train_tasks), "heldout_tasks": len(heldout_tasks),
        "heldout_conversations": len(heldout_rows),
        "training": training, "models": {name: models[name] for name in MODELS}, "timings": timings})


if __name__ == "__main__":
    main()
