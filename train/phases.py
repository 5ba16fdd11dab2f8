"""The two-phase schedule: phase 1 on general domains, phase 2 on the vertical domains from the phase-1 weights.

Output layout under `output_dir`:
    base/                 tiny model + tokenizer built from scratch (tiny configs only)
    phase1_general/       Trainer checkpoints, final/ (weights or LoRA adapter + tokenizer), summary.json
    phase2_vertical/      same for phase 2
    run_summary.json      both phase summaries and the data split

Every rank runs this module (under accelerate/torchrun); work that must happen once (building the tiny model,
writing summaries) is done by the main process, with barriers so that no rank reads what is not written yet.
"""

from __future__ import annotations

import gc
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import ConfigError, RunConfig
from .data import PhaseSplit, load_trajectories, split_by_domain
from .summary import summarize_phase, write_json

PHASE_NAMES = {1: "general", 2: "vertical"}


def phase_dir(output_dir: str | Path, phase: int) -> Path:
    return Path(output_dir) / f"phase{phase}_{PHASE_NAMES[phase]}"


def final_dir(output_dir: str | Path, phase: int) -> Path:
    return phase_dir(output_dir, phase) / "final"


@dataclass
class PhaseStart:
    """Where a phase takes its weights from."""

    model_path: str  # full weights (for LoRA: the frozen base)
    tokenizer_path: str
    adapter_path: str | None  # LoRA adapters to continue, phase 2 only


def distributed_state():
    """The process group shared with the Trainer (accelerate keeps one per process).

    Without a GPU, accelerate only forms a multi-process (gloo) group when told it runs on CPU; otherwise each rank
    would silently train alone under torchrun.
    """
    import torch
    from accelerate import PartialState

    return PartialState(cpu=not torch.cuda.is_available())


def prepare_base(config: RunConfig, dataset, state, reuse_existing: bool = False) -> str:
    """Path of the phase-1 starting weights: the hub model, or a tiny model built and saved once by rank 0.

    `reuse_existing` keeps a tiny base built by an earlier phase-1 run (phase 2 alone must train on the same base).
    """
    if config.model.name_or_path:
        return config.model.name_or_path
    base = Path(config.output_dir) / "base"
    if reuse_existing and (base / "config.json").is_file():
        return str(base)
    if state.is_main_process:
        from .tiny_model import build_model, build_tokenizer, conversation_texts, split_tiny_settings

        vocab_size, pre_tokenizer, sizes = split_tiny_settings(config.model.tiny)
        tokenizer = build_tokenizer(conversation_texts(dataset), vocab_size, config.model.prompt_style, pre_tokenizer)
        try:
            model = build_model(tokenizer, sizes, seed=config.seed)
        except TypeError as exc:
            raise ConfigError(f"model.tiny: {' '.join(str(exc).split())}") from None
        model.save_pretrained(base)
        tokenizer.save_pretrained(base)
    state.wait_for_everyone()
    return str(base)


def phase_start(config: RunConfig, phase: int, base_path: str) -> PhaseStart:
    if phase == 1:
        return PhaseStart(model_path=base_path, tokenizer_path=base_path, adapter_path=None)
    previous = final_dir(config.output_dir, 1)
    if not previous.is_dir():
        raise ConfigError(f"phase 2 needs the phase-1 checkpoint at {previous}; run phase 1 first")
    if config.lora.enabled:
        return PhaseStart(model_path=base_path, tokenizer_path=str(previous), adapter_path=str(previous))
    return PhaseStart(model_path=str(previous), tokenizer_path=str(previous), adapter_path=None)


def build_trainer(config: RunConfig, phase: int, dataset, start: PhaseStart):
    """An SFTTrainer for one phase, its dataset tokenized with assistant-only labels (not trained yet)."""
    import torch
    from transformers import set_seed
    from trl import SFTTrainer

    from .modeling import apply_lora, load_model, load_tokenizer
    from .sft_args import build_sft_config

    # Re-seed per phase so that phase 2 does not depend on how much randomness phase 1 consumed.
    set_seed(config.seed)
    args = build_sft_config(config, phase, str(phase_dir(config.output_dir, phase)), torch.cuda.is_available())
    tokenizer = load_tokenizer(start.tokenizer_path, config.model)
    model = load_model(start.model_path, config.model)
    if config.lora.enabled:
        model = apply_lora(model, config.lora, start.adapter_path)
    return SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer)


def train_phase(config: RunConfig, phase: int, dataset, start: PhaseStart, domains: dict[str, int], state) -> dict[str, Any]:
    import torch

    from .modeling import resolve_dtype

    on_gpu = torch.cuda.is_available()
    out = phase_dir(config.output_dir, phase)
    trainer = build_trainer(config, phase, dataset, start)
    from transformers.trainer_callback import PrinterCallback

    from .progress import ProgressLines

    # our lines replace the raw log dicts transformers prints when tqdm is off (the pipeline's setting)
    trainer.remove_callback(PrinterCallback)
    trainer.add_callback(ProgressLines(phase, PHASE_NAMES[phase], len(dataset)))
    if trainer.train_dataset is not None and len(trainer.train_dataset) == 0:
        from .config import ConfigError

        # TRL drops conversations whose assistant tokens were all cut off; say why instead of crashing
        raise ConfigError(f"phase {phase}: no conversation keeps an assistant token within data.max_length="
                          f"{config.data.max_length}; long policies and tool schemas come first, so raise "
                          "data.max_length (and model.tiny.max_position_embeddings for the tiny model)")
    began = time.time()
    output = trainer.train()
    # save_model gathers sharded weights (FSDP full state dict, ZeRO-3 16-bit gather) and writes the tokenizer too.
    trainer.save_model(str(final_dir(config.output_dir, phase)))
    summary = summarize_phase(
        trainer,
        output,
        {
            "phase": phase,
            "name": PHASE_NAMES[phase],
            "domains": domains,
            "conversations": len(dataset),
            "init_model": start.model_path,
            "init_adapter": start.adapter_path,
            "final_checkpoint": str(final_dir(config.output_dir, phase)),
            "lora": config.lora.enabled,
            "packing": config.data.packing,
            "device": "cuda" if on_gpu else "cpu",
            "dtype": str(resolve_dtype(config.model.dtype)).replace("torch.", ""),
            "wall_time_s": time.time() - began,
        },
    )
    if state.is_main_process:
        write_json(out / "summary.json", summary)

    # Free this phase's model and optimizer before the next phase loads its own.
    del trainer
    gc.collect()
    if on_gpu:
        torch.cuda.empty_cache()
    return summary


def describe_split(split: PhaseSplit) -> dict[str, Any]:
    return {
        "phase1_domains": split.general_domains,
        "phase2_domains": split.vertical_domains,
        "phase1_conversations": len(split.general),
        "phase2_conversations": len(split.vertical),
    }


def run(config: RunConfig, phases: tuple[int, ...] = (1, 2), dry_run: bool = False) -> dict[str, Any]:
    # Data problems are user errors: find them before the (slow) torch import below.
    dataset = load_trajectories(config.data.train_dir)
    split = split_by_domain(dataset, config.data.vertical_domains)

    from transformers import set_seed

    set_seed(config.seed)
    result: dict[str, Any] = {"output_dir": config.output_dir, "split": describe_split(split), "phases": {}}
    if dry_run:
        return result

    if 1 not in phases and not final_dir(config.output_dir, 1).is_dir():
        raise ConfigError(f"phase 2 needs the phase-1 checkpoint at {final_dir(config.output_dir, 1)}; run phase 1 first")
    from .sft_args import check_training_keys

    check_training_keys(config)
    state = distributed_state()
    base_path = prepare_base(config, dataset, state, reuse_existing=1 not in phases)
    datasets_by_phase = {1: (split.general, split.general_domains), 2: (split.vertical, split.vertical_domains)}
    for phase in phases:
        phase_dataset, domains = datasets_by_phase[phase]
        start = phase_start(config, phase, base_path)
        result["phases"][str(phase)] = train_phase(config, phase, phase_dataset, start, domains, state)
        # Phase 2 reads the phase-1 checkpoint: no rank may start it before every rank has finished phase 1
        # and the main process has written the final weights.
        state.wait_for_everyone()

    if state.is_main_process:
        summary_path = Path(config.output_dir) / "run_summary.json"
        if summary_path.is_file():
            # A phase run on its own (--phase 2 after --phase 1) keeps the other phase's record.
            previous = json.loads(summary_path.read_text(encoding="utf-8")).get("phases", {})
            result["phases"] = {**previous, **result["phases"]}
        write_json(summary_path, result)
    return result
