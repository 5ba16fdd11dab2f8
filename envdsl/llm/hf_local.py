"""A local transformers checkpoint as a chat backend (`--agent hf:PATH`).

PATH is a folder holding a causal LM, its tokenizer and a chat template, such as the `final/` folder of a
phase written by `python -m train` (full weights, or a LoRA adapter whose base the adapter config names).
Each turn renders the conversation and the tool schemas with the tokenizer's own chat template, generates
greedily (deterministic, at most `max_new_tokens` tokens, stopping at the end-of-turn token) and parses the
`<tool_call>{"name": ..., "arguments": {...}}</tool_call>` blocks with train/toolcall.py, the parser that
belongs to the format the training code teaches.

torch and transformers are imported only when a backend is built, so envdsl itself does not need them.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import Any

from envdsl.llm.base import LLMError, normalize_message

DEFAULT_MAX_NEW_TOKENS = 256
# The rollout CLI builds backends from a bare `hf:PATH`; this variable bounds generation without a new flag.
MAX_NEW_TOKENS_ENV = "ENVDSL_HF_MAX_NEW_TOKENS"

_loaded: dict[str, tuple[Any, Any, threading.Lock]] = {}  # resolved path -> (tokenizer, model, generate lock)
_loaded_lock = threading.Lock()


def _import_torch() -> tuple[Any, Any]:
    try:
        import torch
        import transformers
    except ImportError as e:
        raise LLMError(f"the hf: agent needs torch and transformers, which are not installed ({e}). Install them "
                       "with `pip install torch==2.13.0` then `pip install -e \".[train]\"`, or serve the model "
                       "with vLLM and use openai:MODEL with --base-url") from None
    return torch, transformers


def _load(path: str) -> tuple[Any, Any, threading.Lock]:
    """Tokenizer and model of `path`, loaded once per process: the rollout runner asks for a backend per
    thread, and several copies of one model would only cost memory (generation is serialized anyway)."""
    torch, transformers = _import_torch()
    folder = Path(path)
    if not folder.is_dir():
        raise LLMError(f"hf:{path}: no such checkpoint folder")
    if not ((folder / "config.json").is_file() or (folder / "adapter_config.json").is_file()):
        raise LLMError(f"hf:{path}: not a model folder (no config.json or adapter_config.json); "
                       "give a phase's final/ folder, such as runs/x/phase2_vertical/final")
    key = str(folder.resolve())
    with _loaded_lock:
        if key in _loaded:
            return _loaded[key]
        tokenizer = transformers.AutoTokenizer.from_pretrained(key)
        if not tokenizer.chat_template:
            raise LLMError(f"hf:{path}: the tokenizer has no chat template")
        device = "cuda" if torch.cuda.is_available() else "cpu"
        dtype = torch.bfloat16 if device == "cuda" and torch.cuda.is_bf16_supported() else torch.float32
        if (folder / "adapter_config.json").is_file():
            try:
                from peft import AutoPeftModelForCausalLM
            except ImportError as e:
                raise LLMError(f"hf:{path} is a LoRA adapter and needs peft ({e})") from None
            model = AutoPeftModelForCausalLM.from_pretrained(key, dtype=dtype).merge_and_unload()
        else:
            model = transformers.AutoModelForCausalLM.from_pretrained(key, dtype=dtype)
        model.to(device).eval()
        _loaded[key] = (tokenizer, model, threading.Lock())
        return _loaded[key]


def _stop_ids(tokenizer: Any, model: Any) -> list[int]:
    """End-of-turn ids: the tokenizer's EOS, the model's configured EOS ids and `<|im_end|>` where it exists."""
    ids: list[int] = []
    configured = getattr(model.generation_config, "eos_token_id", None)
    for i in [tokenizer.eos_token_id, *(configured if isinstance(configured, list) else [configured])]:
        if isinstance(i, int) and i not in ids:
            ids.append(i)
    im_end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    if isinstance(im_end, int) and im_end != tokenizer.unk_token_id and im_end not in ids:
        ids.append(im_end)
    return ids


def template_messages(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Messages as the training rows hand them to the chat template: keys without a value dropped, content
    always a string, tool-call arguments left as the JSON strings the trajectories store (TRL renders them as
    they are, so converting them to objects here would make evaluation prompts differ from training ones)."""
    out = []
    for m in messages:
        m = {k: v for k, v in m.items() if v is not None}
        m.setdefault("content", "")
        out.append(m)
    return out


def canonical_tools(tools: list[dict[str, Any]] | None) -> list[dict[str, Any]] | None:
    """Tool schemas with sorted keys: the rollout export stores them that way (json.dumps(sort_keys=True)),
    so the prompt at evaluation renders exactly as the prompts the model was trained on."""
    if not tools:
        return None
    return json.loads(json.dumps(tools, sort_keys=True))


class HFChatBackend:
    """`chat(messages, tools)` -> one assistant message, from a local checkpoint."""

    def __init__(self, path: str, max_new_tokens: int | None = None, **_: Any):
        if max_new_tokens is None:
            max_new_tokens = int(os.environ.get(MAX_NEW_TOKENS_ENV, DEFAULT_MAX_NEW_TOKENS))
        if max_new_tokens < 1:
            raise LLMError(f"hf:{path}: max_new_tokens must be at least 1, got {max_new_tokens}")
        self.path = path
        self.max_new_tokens = max_new_tokens
        self.torch, _ = _import_torch()
        try:
            from train.toolcall import parse_tool_calls  # the training side owns the tool-call format
        except ImportError as e:
            raise LLMError(f"hf:{path} needs the train package of this repository ({e}); "
                           "install the project with `pip install -e \".[train]\"`") from None
        self.parse_tool_calls = parse_tool_calls
        self.tokenizer, self.model, self.lock = _load(path)
        self.stop_ids = _stop_ids(self.tokenizer, self.model)

    def prompt(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None) -> str:
        """The rendered prompt, ending with the assistant generation header."""
        text = self.tokenizer.apply_chat_template(template_messages(messages), tools=canonical_tools(tools),
                                                  add_generation_prompt=True, tokenize=False)
        return str(text)

    def generate_text(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
                      **params: Any) -> str:
        """The raw text of the next assistant turn, cut at the end-of-turn token, special tokens dropped."""
        torch = self.torch
        temperature = params.get("temperature") or 0.0
        settings: dict[str, Any] = {
            "max_new_tokens": int(params.get("max_tokens") or self.max_new_tokens),
            "eos_token_id": self.stop_ids,
            "pad_token_id": self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None
            else self.stop_ids[0],
            "do_sample": temperature > 0,
        }
        if temperature > 0:
            settings.update(temperature=float(temperature), top_p=1.0, top_k=0)
        else:  # greedy; unset the sampling knobs a hub generation_config may carry, so no warning is printed
            settings.update(temperature=None, top_p=None, top_k=None)
        # one lock per loaded checkpoint: rollout threads share the tokenizer and the model, neither thread-safe
        with self.lock, torch.no_grad():
            prompt = self.prompt(messages, tools)
            # the template already wrote every special token the model expects; a BOS would shift the prompt
            ids = self.tokenizer(prompt, add_special_tokens=False, return_tensors="pt")["input_ids"]
            if temperature > 0:  # sampling, but reproducible: the same prompt draws the same tokens
                torch.manual_seed(int(hashlib.sha256(prompt.encode()).hexdigest()[:8], 16))
            ids = ids.to(self.model.device)
            out = self.model.generate(input_ids=ids, attention_mask=torch.ones_like(ids), **settings)
            new = out[0, ids.shape[1]:].tolist()
            for i, token in enumerate(new):
                if token in self.stop_ids:
                    new = new[:i]
                    break
            return str(self.tokenizer.decode(new, skip_special_tokens=True))

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
             **params: Any) -> dict[str, Any]:
        text = self.generate_text(messages, tools, **params)
        parsed = self.parse_tool_calls(text, end_of_turn=None)
        message: dict[str, Any] = {"role": "assistant", "content": parsed.content}
        if parsed.errors:
            # a block that looked like a call but did not decode stays in the text, as the model wrote it,
            # so the conversation (and the user) sees what was said instead of an empty turn
            message["content"] = text.strip()
        if parsed.tool_calls:
            # ids numbered per turn instead of the parser's random ones: same model, same conversation, same bytes
            message["tool_calls"] = [{**call.to_openai(), "id": f"call_{len(messages)}_{i}"}
                                     for i, call in enumerate(parsed.tool_calls)]
        return normalize_message(message)
