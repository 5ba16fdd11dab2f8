"""LLM backends behind one small interface: `chat(messages, tools=None, **params) -> assistant message`.

A backend takes OpenAI chat messages and returns one OpenAI assistant message dict
({"role": "assistant", "content": str, "tool_calls"?: [...]} with arguments as JSON strings).
This package imports nothing else of envdsl, so any stage (tasks, rollout, synth) can use it.
"""

from envdsl.llm.base import BackendUnavailable, ChatBackend, LLMError, normalize_message
from envdsl.llm.factory import backend_from_spec
from envdsl.llm.openai_compat import OpenAIChatClient
from envdsl.llm.scripted import ScriptedBackend

__all__ = ["BackendUnavailable", "ChatBackend", "LLMError", "OpenAIChatClient", "ScriptedBackend", "backend_from_spec",
           "normalize_message"]
