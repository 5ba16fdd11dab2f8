"""A backend that replays prepared replies: for tests and for offline runs of LLM code paths."""

from __future__ import annotations

import threading
from typing import Any, Callable

from envdsl.llm.base import LLMError, normalize_message

Reply = dict[str, Any] | str | Callable[[list[dict[str, Any]], list[dict[str, Any]] | None], Any]


class ScriptedBackend:
    """Answers with `replies` in order (a str is a plain text reply; a callable gets the messages and
    tools). Records every request in `requests`; raises LLMError when the script runs out."""

    def __init__(self, replies: list[Reply]):
        self.replies = list(replies)
        self.requests: list[dict[str, Any]] = []
        self._lock = threading.Lock()

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
             **params: Any) -> dict[str, Any]:
        with self._lock:
            self.requests.append({"messages": messages, "tools": tools, "params": params})
            if not self.replies:
                raise LLMError("scripted backend has no replies left")
            reply = self.replies.pop(0)
        if callable(reply):
            reply = reply(messages, tools)
        if isinstance(reply, str):
            reply = {"role": "assistant", "content": reply}
        return normalize_message(reply)
