"""A local transformers model as a chat backend. torch and transformers are imported only when one is built.

Tool calls are parsed from the generated text with train/toolcall.py (the format the training
code teaches: <tool_call>{"name": ..., "arguments": {...}}</tool_call>) when that module can be
imported, else with the same-format fallback below.
"""

from __future__ import annotations

import json
import re
from typing import Any

from envdsl.llm.base import LLMError, normalize_message


def _parser() -> Any:
    try:
        from train.toolcall import parse_tool_calls  # the training side owns the format

        def parse(text: str) -> dict[str, Any]:
            parsed = parse_tool_calls(text)
            message = parsed.to_message()
            for i, call in enumerate(message.get("tool_calls", [])):
                call["id"] = f"call_{i}"  # deterministic ids instead of random ones
            return message

        return parse
    except ImportError:
        return _fallback_parse


_BLOCK = re.compile(r"<tool_call>(.*?)</tool_call>", re.DOTALL)


def _fallback_parse(text: str) -> dict[str, Any]:
    text = text.split("<|im_end|>", 1)[0]
    calls = []
    for i, m in enumerate(_BLOCK.finditer(text)):
        try:
            data = json.loads(m.group(1))
            args = data.get("arguments", {})
            calls.append({"id": f"call_{i}", "type": "function", "function": {
                "name": data["name"], "arguments": args if isinstance(args, str) else json.dumps(args)}})
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    message: dict[str, Any] = {"role": "assistant", "content": _BLOCK.sub("", text).strip()}
    if calls:
        message["tool_calls"] = calls
    return message


class HFChatBackend:
    def __init__(self, path: str, max_new_tokens: int = 512, **_: Any):
        try:
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer
        except ImportError as e:
            raise LLMError(f"hf:{path} needs torch and transformers ({e}); install them, "
                           "or serve the model with vLLM and use openai:MODEL with --base-url") from None
        self.torch = torch
        self.tokenizer = AutoTokenizer.from_pretrained(path)
        self.model = AutoModelForCausalLM.from_pretrained(path, torch_dtype="auto")
        self.model.to("cuda" if torch.cuda.is_available() else "cpu").eval()
        self.max_new_tokens = max_new_tokens
        self.parse = _parser()

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
             **params: Any) -> dict[str, Any]:
        # chat templates expect tool-call arguments as objects
        msgs = []
        for m in messages:
            m = dict(m)
            if m.get("tool_calls"):
                m["tool_calls"] = [{**c, "function": {**c["function"], "arguments": json.loads(
                    c["function"]["arguments"] or "{}")}} for c in m["tool_calls"]]
            msgs.append(m)
        ids = self.tokenizer.apply_chat_template(msgs, tools=tools, add_generation_prompt=True,
                                                 return_tensors="pt").to(self.model.device)
        with self.torch.no_grad():
            out = self.model.generate(ids, max_new_tokens=params.get("max_tokens", self.max_new_tokens),
                                      do_sample=bool(params.get("temperature")), temperature=params.get(
                                          "temperature") or None)
        text = self.tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=False)
        return normalize_message(self.parse(text))
