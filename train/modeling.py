"""Load tokenizers and models for a phase, and wrap them with LoRA when configured."""

from __future__ import annotations

from pathlib import Path

from .config import ConfigError, LoraSettings, ModelSettings


def resolve_dtype(setting: str):
    """"auto" means bfloat16 on a GPU that supports it (the training precision we want there), float32 elsewhere."""
    import torch

    if setting == "auto":
        if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    return getattr(torch, setting)


def _read_chat_template(path: str) -> str:
    source = Path(path)
    if source.is_file():
        return source.read_text(encoding="utf-8")
    if source.is_dir():
        from transformers import AutoTokenizer

        template = AutoTokenizer.from_pretrained(str(source)).chat_template
        if template:
            return template
    raise ConfigError(f"model.chat_template_path {path!r} is neither a Jinja file nor a tokenizer directory with a chat template")


def load_tokenizer(path: str, settings: ModelSettings):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(path, trust_remote_code=settings.trust_remote_code)
    if settings.chat_template_path:
        tokenizer.chat_template = _read_chat_template(settings.chat_template_path)
    elif settings.prompt_style == "compact":
        # The compact template uses the Qwen turn markers and tags, so it also fits a Qwen tokenizer.
        from .tiny_model import tiny_chat_template

        tokenizer.chat_template = tiny_chat_template("compact")
    if not tokenizer.chat_template:
        raise ConfigError(f"the tokenizer of {path} has no chat template; set model.chat_template_path")
    if tokenizer.pad_token is None:
        # Padding is masked out of the loss, so any existing token will do; EOS is the usual choice.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(path: str, settings: ModelSettings):
    from transformers import AutoModelForCausalLM

    kwargs = {"dtype": resolve_dtype(settings.dtype), "trust_remote_code": settings.trust_remote_code}
    if settings.attn_implementation:
        kwargs["attn_implementation"] = settings.attn_implementation
    return AutoModelForCausalLM.from_pretrained(path, **kwargs)


def apply_lora(model, settings: LoraSettings, adapter_dir: str | None = None):
    """Fresh LoRA adapters, or (phase 2) the phase-1 adapters reopened as trainable so training continues them."""
    from peft import LoraConfig, PeftModel, get_peft_model

    if adapter_dir is not None:
        return PeftModel.from_pretrained(model, adapter_dir, is_trainable=True)
    lora_config = LoraConfig(
        r=settings.r,
        lora_alpha=settings.alpha,
        lora_dropout=settings.dropout,
        target_modules=settings.target_modules,
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, lora_config)
