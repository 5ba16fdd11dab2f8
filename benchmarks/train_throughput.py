"""Training throughput of the two-phase trainer's phase-1 step (tokens per second, MFU on GPU).

    OMP_NUM_THREADS=2 python benchmarks/train_throughput.py              # tiny model on CPU
    python benchmarks/train_throughput.py --size small                   # ~50M-parameter model, meant for a GPU
    python benchmarks/train_throughput.py --size qwen3-0.6b              # Qwen3-0.6B's shape (596M), bf16 on a GPU

Runs SFTTrainer exactly as `python -m train` does (same chat template, assistant-only labels, collator) on
synthetic tool-calling trajectories, skips warm-up steps, and merges the result into
benchmarks/results/train_throughput.json under the device kind ("cpu" or "cuda").
Model FLOPs utilisation uses the usual 6 * parameters * tokens/s estimate (forward + backward, attention ignored).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

RESULTS = REPO_ROOT / "benchmarks" / "results" / "train_throughput.json"
SIZES = {
    # Same shape as configs/train/tiny_cpu.yaml.
    "tiny": {"vocab_size": 512, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
             "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16},
    # Large enough to keep a GPU busy, small enough to build in seconds.
    "small": {"vocab_size": 4096, "hidden_size": 768, "intermediate_size": 2048, "num_hidden_layers": 8,
              "num_attention_heads": 12, "num_key_value_heads": 4, "head_dim": 64},
    # The shape of Qwen3-0.6B (its config.json): 28 layers, hidden 1024, 16 query and 8 key/value heads of 128, tied
    # embeddings of 151,936 rows. The BPE tokenizer trained here has far fewer tokens; the embedding table is padded
    # to Qwen's row count (as Qwen pads its own 151,669-token vocabulary), so the LM head costs what it costs there.
    "qwen3-0.6b": {"vocab_size": 4096, "embedding_rows": 151936, "hidden_size": 1024, "intermediate_size": 3072,
                   "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128,
                   "max_position_embeddings": 40960, "rope_theta": 1000000.0, "rms_norm_eps": 1e-6},
}  # fmt: skip
# Tool-call rounds per synthetic conversation: long enough that the larger models see 1-2K-token sequences, as the
# compact conversations of the learning-signal benchmark are.
ROUNDS = {"tiny": 1, "small": 1, "qwen3-0.6b": 6}
# Dense bf16 peak of common accelerators, in FLOP/s (vendor datasheets, without sparsity).
PEAK_BF16_FLOPS = {"H100": 989e12, "H200": 989e12, "A100": 312e12, "L40S": 362e12, "A10": 125e12, "L4": 121e12}


WORDS = ["order", "book", "refund", "status", "member", "address", "delivery", "title", "account", "plan"]


def tool_round(rng: random.Random, domain: str, call_id: str) -> list[dict]:
    """One assistant tool call, its result, and the assistant's reply."""
    arguments = {"query": " ".join(rng.choice(WORDS) for _ in range(rng.randint(2, 6))), "limit": rng.randint(1, 9)}
    result = [{"id": rng.randint(1, 10**6), "text": " ".join(rng.choice(WORDS) for _ in range(12))} for _ in range(3)]
    return [
        {"role": "assistant", "content": "", "tool_calls": [{"id": call_id, "type": "function",
         "function": {"name": f"{domain}_search", "arguments": json.dumps(arguments)}}]},
        {"role": "tool", "tool_call_id": call_id, "name": f"{domain}_search", "content": json.dumps(result)},
        {"role": "assistant", "content": " ".join(rng.choice(WORDS) for _ in range(rng.randint(10, 40)))},
    ]  # fmt: skip


def synthetic_conversation(rng: random.Random, domain: str, index: int, rounds: int = 1) -> dict:
    question = " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))
    messages = [{"role": "system", "content": f"You help with {domain}."}, {"role": "user", "content": question}]
    for r in range(rounds):
        if r:
            messages.append({"role": "user", "content": " ".join(rng.choice(WORDS) for _ in range(rng.randint(8, 30)))})
        messages += tool_round(rng, domain, f"c{index}_{r}")
    properties = {"query": {"type": "string"}, "limit": {"type": "integer"}}
    tool = {"type": "function", "function": {"name": f"{domain}_search", "description": "Search records.",
            "parameters": {"type": "object", "properties": properties}}}
    return {
        "domain": domain,
        "task_id": f"{domain}-{index}",
        "tools": json.dumps([tool]),
        "messages": messages,
    }  # fmt: skip


def write_trajectories(directory: Path, conversations: int, seed: int, rounds: int = 1) -> None:
    rng = random.Random(seed)
    with open(directory / "shard-00000.jsonl", "w", encoding="utf-8") as handle:
        for index in range(conversations):
            domain = "general_a" if index % 4 else "vertical_b"
            handle.write(json.dumps(synthetic_conversation(rng, domain, index, rounds)) + "\n")


def peak_flops(device_name: str, override_tflops: float | None) -> float | None:
    if override_tflops:
        return override_tflops * 1e12
    for key, flops in PEAK_BF16_FLOPS.items():
        if key in device_name:
            return flops
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=sorted(SIZES), default=None,
                        help="model size (default: tiny on CPU, small on GPU)")
    parser.add_argument("--steps", type=int, default=None, help="measured optimizer steps (default: 20 CPU, 50 GPU)")
    parser.add_argument("--warmup-steps", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--max-length", type=int, default=None, help="default 1024; 2048 for qwen3-0.6b")
    parser.add_argument("--rounds", type=int, default=None, help="tool-call rounds per synthetic conversation")
    parser.add_argument("--packing", action="store_true", help="padding-free packing (use with flash attention on GPU)")
    parser.add_argument("--peak-tflops", type=float, default=None, help="peak FLOP/s of the device, for MFU")
    parser.add_argument("--output", "--results", dest="output", type=Path, default=RESULTS)
    parser.add_argument("--quick", action="store_true", help="smoke run: 3 measured steps after 1 warm-up step")
    args = parser.parse_args()
    if args.quick:
        args.steps, args.warmup_steps = 3, 1

    import torch
    from transformers import TrainerCallback

    from train.config import validate
    from train.data import load_trajectories, split_by_domain
    from train.phases import PhaseStart, build_trainer, distributed_state, prepare_base

    on_gpu = torch.cuda.is_available()
    size = args.size or ("small" if on_gpu else "tiny")
    rounds = args.rounds or ROUNDS[size]
    args.max_length = args.max_length or (2048 if size == "qwen3-0.6b" else 1024)
    measured = args.steps or (50 if on_gpu else 20)
    total_steps = args.warmup_steps + measured
    conversations = total_steps * args.batch_size * 4 // 3 + 8  # phase 1 gets 3/4 of them

    class StepClock(TrainerCallback):
        """Time and token count at the end of the warm-up and at the end of training."""

        def __init__(self, trainer):
            self.trainer, self.marks = trainer, {}

        def on_step_end(self, args_, state, control, **kwargs):
            if state.global_step in (args.warmup_steps, total_steps):
                if on_gpu:
                    torch.cuda.synchronize()
                self.marks[state.global_step] = (time.perf_counter(), self.trainer._total_train_tokens)

    with tempfile.TemporaryDirectory() as workdir:
        data_dir = Path(workdir) / "data"
        data_dir.mkdir()
        write_trajectories(data_dir, conversations, seed=0, rounds=rounds)
        config = validate({
            "output_dir": str(Path(workdir) / "run"),
            "model": {"tiny": SIZES[size]},
            "data": {"train_dir": str(data_dir), "vertical_domains": ["vertical_b"], "max_length": args.max_length,
                     "packing": args.packing},
            "training": {"per_device_train_batch_size": args.batch_size, "max_steps": total_steps,
                         "learning_rate": 1e-3, "save_strategy": "no", "logging_steps": 1000,
                         "disable_tqdm": True, "activation_checkpointing": False},
        })  # fmt: skip
        dataset = load_trajectories(config.data.train_dir)
        split = split_by_domain(dataset, config.data.vertical_domains)
        base = prepare_base(config, dataset, distributed_state())
        trainer = build_trainer(config, 1, split.general, PhaseStart(base, base, None))
        clock = StepClock(trainer)  # TRL counts input tokens over all ranks in _total_train_tokens
        trainer.add_callback(clock)
        trainer.train()

        (start, tokens_start), (end, tokens_end) = clock.marks[args.warmup_steps], clock.marks[total_steps]
        parameters = sum(p.numel() for p in trainer.model.parameters())
        dtype = str(next(trainer.model.parameters()).dtype).replace("torch.", "")

    seconds = end - start
    tokens = tokens_end - tokens_start
    tokens_per_second = tokens / seconds
    device_name = torch.cuda.get_device_name() if on_gpu else "cpu"
    peak = peak_flops(device_name, args.peak_tflops)
    import transformers
    import trl

    result = {
        "device": "cuda" if on_gpu else "cpu",
        "device_name": device_name,
        "threads": torch.get_num_threads(),
        "omp_num_threads": os.environ.get("OMP_NUM_THREADS"),
        "model_size": size,
        "architecture": SIZES[size],
        "rounds_per_conversation": rounds,
        "parameters": parameters,
        "dtype": dtype,
        "bf16_autocast": on_gpu,
        "batch_size": args.batch_size,
        "max_length": args.max_length,
        "packing": args.packing,
        "measured_steps": measured,
        "tokens": tokens,
        "tokens_per_sequence": round(tokens / (measured * args.batch_size), 1),
        "seconds": round(seconds, 4),
        "tokens_per_second": round(tokens_per_second, 1),
        "model_flops_per_second": 6 * parameters * tokens_per_second,
        "peak_flops": peak,
        "mfu": (6 * parameters * tokens_per_second / peak) if peak else None,
        "versions": {"torch": torch.__version__, "transformers": transformers.__version__, "trl": trl.__version__},
        "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    results = json.loads(args.output.read_text()) if args.output.is_file() else {}
    results[result["device"]] = result
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
