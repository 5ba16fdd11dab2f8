"""Turn the run config into TRL `SFTConfig` objects, one per phase."""

from __future__ import annotations

import dataclasses
from typing import Any

from .config import ConfigError, RunConfig


def _defaults(on_gpu: bool) -> dict[str, Any]:
    """Defaults for keys the user did not set. Logging every step keeps the loss curve in the run summary."""
    return {
        "per_device_train_batch_size": 2,
        "gradient_accumulation_steps": 1,
        "num_train_epochs": 1,
        "learning_rate": 2e-5,
        "lr_scheduler_type": "cosine",
        "warmup_steps": 0.03,  # a float below 1 is a fraction of the total steps
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": 500,
        "save_total_limit": 2,
        "report_to": "none",
        # TRL turns these on by default; on CPU bf16 autocast is slow and checkpointing only costs time.
        "bf16": on_gpu,
        "activation_checkpointing": on_gpu,
        "dataloader_num_workers": 0,
        # Every parameter gets a gradient in a causal LM; the extra DDP graph traversal would only cost time.
        "ddp_find_unused_parameters": False,
        # Must agree with the CPU PartialState of phases.distributed_state (multi-process CPU runs use gloo).
        "use_cpu": not on_gpu,
        "dataloader_pin_memory": on_gpu,
    }


def check_training_keys(config: RunConfig) -> None:
    """Reject misspelled trainer arguments before any model is built or loaded."""
    from trl import SFTConfig

    known = {f.name for f in dataclasses.fields(SFTConfig)}
    given = set(config.training) | set(config.phase1) | set(config.phase2)
    unknown = sorted(given - known)
    if unknown:
        raise ConfigError(f"unknown SFTConfig argument(s) in training/phase1/phase2: {', '.join(unknown)}")


def build_sft_config(config: RunConfig, phase: int, output_dir: str, on_gpu: bool):
    from trl import SFTConfig

    check_training_keys(config)
    user_args = config.phase_training_args(phase)
    if "gradient_checkpointing" in user_args and "activation_checkpointing" not in user_args:
        # transformers 5 renamed it; accept the old name rather than let our default silently override it.
        user_args["activation_checkpointing"] = user_args.pop("gradient_checkpointing")

    arguments = {
        **_defaults(on_gpu),
        **user_args,
        # Set by this package, never by the user (see config.RESERVED_TRAINING_KEYS).
        "output_dir": output_dir,
        "seed": config.seed,
        "data_seed": config.seed,
        "max_length": config.data.max_length,
        "packing": config.data.packing,
        "assistant_only_loss": config.data.loss_on == "assistant",
    }
    try:
        return SFTConfig(**arguments)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"invalid training arguments for phase {phase}: {' '.join(str(exc).split())}") from None
