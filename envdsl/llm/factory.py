"""Backends from command-line specs: `openai:MODEL`, `hf:PATH`."""

from __future__ import annotations

from typing import Any


def backend_from_spec(spec: str, *, base_url: str | None = None, api_key: str | None = None,
                      timeout: float = 120.0, max_retries: int = 4, **params: Any) -> Any:
    kind, _, name = spec.partition(":")
    if not name:
        raise ValueError(f"backend {spec!r}: expected KIND:NAME, such as openai:gpt-4o-mini or hf:./checkpoint")
    if kind == "openai":
        from envdsl.llm.openai_compat import OpenAIChatClient

        return OpenAIChatClient(name, base_url=base_url, api_key=api_key, timeout=timeout,
                                max_retries=max_retries, default_params=params)
    if kind == "hf":
        from envdsl.llm.hf_local import HFChatBackend

        return HFChatBackend(name, **params)
    raise ValueError(f"backend {spec!r}: unknown kind {kind!r} (openai, hf)")
