"""The backend protocol and the one place assistant messages are normalised to the trajectory format."""

from __future__ import annotations

import json
from typing import Any, Protocol


class LLMError(RuntimeError):
    """A backend could not produce a message (after its retries)."""


class BackendUnavailable(LLMError):
    """The backend itself cannot serve: unreachable after every retry, a bad key (401/403), no such model
    (404), another request error no retry can fix (4xx), or no endpoint configured. Unlike a malformed
    reply, this says nothing about the model, so a run stops on it instead of scoring it as a failure."""


class ChatBackend(Protocol):
    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
             **params: Any) -> dict[str, Any]: ...


def normalize_message(raw: Any, call_prefix: str = "call") -> dict[str, Any]:
    """An assistant message as trajectories store it: content a str, tool call arguments JSON strings,
    every call with an id. Raises LLMError when `raw` is not a message at all."""
    if not isinstance(raw, dict):
        raise LLMError(f"expected an assistant message object, got {type(raw).__name__}")
    content = raw.get("content")
    if isinstance(content, list):  # content parts: keep the text ones
        content = "".join(p.get("text", "") for p in content if isinstance(p, dict))
    message: dict[str, Any] = {"role": "assistant", "content": content if isinstance(content, str) else ""}
    calls = []
    for i, call in enumerate(raw.get("tool_calls") or []):
        fn = call.get("function") if isinstance(call, dict) else None
        if not isinstance(fn, dict):
            raise LLMError(f"malformed tool call: {json.dumps(call)[:200]}")
        # a call without a name is the model's mistake, not the server's: keep it (name "") for the
        # conversation to record as an agent error, instead of retrying the request
        name = fn.get("name") if isinstance(fn.get("name"), str) else ""
        args = fn.get("arguments", "{}")
        if not isinstance(args, str):  # some servers send an object; the trajectory format is a string
            args = json.dumps(args, ensure_ascii=False)
        calls.append({"id": str(call.get("id") or f"{call_prefix}_{i}"), "type": "function",
                      "function": {"name": name, "arguments": args}})
    if calls:
        message["tool_calls"] = calls
    return message
