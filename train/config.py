"""Run configuration: YAML file + `key.path=value` overrides -> validated `RunConfig`.

Only standard library and PyYAML are imported here so that config mistakes are reported in well under a second,
before torch loads. Mistakes raise `ConfigError`, which the CLI prints as one line (exit code 2).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


class ConfigError(Exception):
    """A user mistake in the config, the overrides or the data layout; reported without a traceback."""


@dataclass
class ModelSettings:
    # Hub name or local directory of a pretrained causal LM; exclusive with `tiny`.
    name_or_path: str | None = None
    # Build a small model from scratch instead: `vocab_size` sizes the BPE tokenizer trained on the trajectories and
    # `pre_tokenizer` (byte_level or words) says how it cuts words; every other key goes to transformers'
    # Qwen3Config (hidden_size, num_hidden_layers, ...).
    tiny: dict[str, Any] | None = None
    # Jinja file or tokenizer directory whose chat template replaces the model's own.
    chat_template_path: str | None = None
    # "full": tool schemas as JSON and the whole policy; "compact": one line per tool and a few policy rules, so
    # that a conversation fits in 1-2K tokens (small models). Tool calls are rendered and parsed the same way.
    prompt_style: str = "full"
    # "auto": bfloat16 on a GPU that supports it, float32 otherwise.
    dtype: str = "auto"
    attn_implementation: str | None = None
    trust_remote_code: bool = False


@dataclass
class DataSettings:
    # Directory holding the JSONL shards written by the rollout stage (searched recursively).
    train_dir: str = ""
    # Domains trained in phase 2; every other domain found in the data is phase 1 ("general").
    vertical_domains: list[str] = field(default_factory=list)
    max_length: int = 2048
    packing: bool = False
    # Which tokens the loss counts: "assistant" (fine-tuning: only the agent's replies and calls) or "all" (every
    # token of the conversation, as in pretraining: a model trained from scratch also learns from the user's and the
    # tools' text, where the values the agent must copy into its calls appear first).
    loss_on: str = "assistant"


@dataclass
class LoraSettings:
    enabled: bool = False
    r: int = 16
    alpha: int = 32
    dropout: float = 0.05
    # "all-linear" or a list of module names.
    target_modules: str | list[str] = "all-linear"


@dataclass
class RunConfig:
    output_dir: str
    seed: int
    model: ModelSettings
    data: DataSettings
    lora: LoraSettings
    # SFTConfig keyword arguments shared by both phases, then per-phase overrides on top.
    training: dict[str, Any]
    phase1: dict[str, Any]
    phase2: dict[str, Any]

    def phase_training_args(self, phase: int) -> dict[str, Any]:
        overrides = self.phase1 if phase == 1 else self.phase2
        return {**self.training, **overrides}


PROMPT_STYLES = ("full", "compact")
LOSS_ON = ("assistant", "all")
# model.tiny.pre_tokenizer: how the tokenizer trained for a tiny model cuts words (train/tiny_model.py says why);
# listed here so that a typo fails before torch loads.
PRE_TOKENIZERS = ("byte_level", "words")
_SECTIONS = {"model": ModelSettings, "data": DataSettings, "lora": LoraSettings}
_FREE_FORM_SECTIONS = ("training", "phase1", "phase2")
_TOP_LEVEL_KEYS = {"output_dir", "seed", *_SECTIONS, *_FREE_FORM_SECTIONS}
# SFTConfig arguments that this package sets itself; letting the user set them would break an invariant
# (the loss mask, per-phase output layout) or duplicate a key that lives in another section.
RESERVED_TRAINING_KEYS = {
    "output_dir": "output_dir (top level)",
    "seed": "seed (top level)",
    "max_length": "data.max_length",
    "packing": "data.packing",
    "assistant_only_loss": "data.loss_on",
    "completion_only_loss": "data.loss_on",
    "model_init_kwargs": "the model section",
    "chat_template_path": "model.chat_template_path",
}


# YAML 1.1 (PyYAML) reads `2e-5` as a string because it lacks a dot; learning rates are written that way all the time.
_EXPONENT_NUMBER = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)[eE][-+]?\d+$")


def _coerce_exponent_numbers(value: Any) -> Any:
    if isinstance(value, str) and _EXPONENT_NUMBER.match(value.strip()):
        return float(value)
    if isinstance(value, dict):
        return {key: _coerce_exponent_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_coerce_exponent_numbers(item) for item in value]
    return value


def _parse_override(text: str) -> tuple[list[str], Any]:
    if "=" not in text:
        raise ConfigError(f"override {text!r} is not of the form key.path=value")
    key, raw_value = text.split("=", 1)
    if not key.strip():
        raise ConfigError(f"override {text!r} has an empty key")
    try:
        # YAML scalars give the natural typing: 3 -> int, 1e-4 -> float, true -> bool, [a, b] -> list.
        value = yaml.safe_load(raw_value) if raw_value.strip() else ""
    except yaml.YAMLError as exc:
        raise ConfigError(f"override {text!r}: value is not valid YAML ({exc.problem})") from None
    return key.strip().split("."), _coerce_exponent_numbers(value)


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Return a copy of `raw` with each `a.b.c=value` override written in."""
    result = copy.deepcopy(raw)
    for text in overrides:
        path, value = _parse_override(text)
        node = result
        for part in path[:-1]:
            child = node.get(part)
            if child is None:
                child = node[part] = {}
            if not isinstance(child, dict):
                raise ConfigError(f"override {text!r}: {part!r} is not a section")
            node = child
        node[path[-1]] = value
    return result


def _build_section(name: str, cls: type, values: Any):
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ConfigError(f"config section {name!r} must be a mapping, got {type(values).__name__}")
    known = set(cls.__dataclass_fields__)
    unknown = sorted(set(values) - known)
    if unknown:
        raise ConfigError(f"unknown key(s) in {name!r}: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return cls(**values)


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise ConfigError(message)


def validate(raw: dict[str, Any]) -> RunConfig:
    _expect(isinstance(raw, dict), "the config must be a YAML mapping")
    unknown = sorted(set(raw) - _TOP_LEVEL_KEYS)
    _expect(not unknown, f"unknown top-level key(s): {', '.join(unknown)} (known: {', '.join(sorted(_TOP_LEVEL_KEYS))})")
    _expect(bool(raw.get("output_dir")), "missing config key 'output_dir'")

    model = _build_section("model", ModelSettings, raw.get("model"))
    data = _build_section("data", DataSettings, raw.get("data"))
    lora = _build_section("lora", LoraSettings, raw.get("lora"))

    _expect(
        (model.name_or_path is None) != (model.tiny is None),
        "set exactly one of 'model.name_or_path' (pretrained model) and 'model.tiny' (build a small model)",
    )
    _expect(model.tiny is None or isinstance(model.tiny, dict), "'model.tiny' must be a mapping of sizes")
    _expect(model.tiny is None or model.tiny.get("pre_tokenizer", PRE_TOKENIZERS[0]) in PRE_TOKENIZERS,
            f"model.tiny.pre_tokenizer {(model.tiny or {}).get('pre_tokenizer')!r} is not one of "
            f"{', '.join(PRE_TOKENIZERS)}")
    _expect(model.prompt_style in PROMPT_STYLES,
            f"model.prompt_style {model.prompt_style!r} is not one of {', '.join(PROMPT_STYLES)}")
    _expect(
        model.prompt_style == "full" or model.chat_template_path is None,
        "set at most one of 'model.prompt_style: compact' and 'model.chat_template_path' "
        "(both choose the chat template)",
    )
    _expect(model.dtype in {"auto", "bfloat16", "float16", "float32"}, f"model.dtype {model.dtype!r} is not one of auto, bfloat16, float16, float32")
    _expect(data.loss_on in LOSS_ON, f"data.loss_on {data.loss_on!r} is not one of {', '.join(LOSS_ON)}")
    _expect(bool(data.train_dir), "missing config key 'data.train_dir' (directory of trajectory JSONL shards)")
    if isinstance(data.vertical_domains, str):
        data.vertical_domains = [data.vertical_domains]
    _expect(
        isinstance(data.vertical_domains, list) and len(data.vertical_domains) > 0,
        "missing config key 'data.vertical_domains' (the domain(s) trained in phase 2)",
    )
    _expect(isinstance(data.max_length, int) and data.max_length > 0, "'data.max_length' must be a positive integer")

    sections = {}
    for name in _FREE_FORM_SECTIONS:
        values = raw.get(name) or {}
        _expect(isinstance(values, dict), f"config section {name!r} must be a mapping")
        for key in values:
            _expect(key not in RESERVED_TRAINING_KEYS, f"'{name}.{key}' cannot be set here; use {RESERVED_TRAINING_KEYS.get(key)}")
        sections[name] = dict(values)

    seed = raw.get("seed", 42)
    _expect(isinstance(seed, int), "'seed' must be an integer")
    return RunConfig(
        output_dir=str(raw["output_dir"]),
        seed=seed,
        model=model,
        data=data,
        lora=lora,
        **sections,
    )


def load_config(path: str | Path, overrides: list[str] | None = None) -> RunConfig:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file not found: {path}")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"config {path} is not valid YAML: {' '.join(str(exc).split())}") from None
    _expect(isinstance(raw, dict), f"config {path} must be a YAML mapping")
    return validate(apply_overrides(_coerce_exponent_numbers(raw), overrides or []))
