"""A client for OpenAI-compatible chat completion servers (vLLM, SGLang, OpenAI) over plain HTTP.

Standard library only (urllib), so it works wherever Python does. It is thread-safe (every
request opens its own connection), so callers get concurrency from a thread pool. Transient
faults are retried with exponential backoff: timeouts, connection errors, 408/409/429 and 5xx
replies, and bodies that are not a well-formed completion (a proxy's HTML error page, a
truncated JSON body). Other 4xx replies are the caller's fault and fail at once.
"""

from __future__ import annotations

import json
import os
import random
import socket
import time
import urllib.error
import urllib.request
from typing import Any, Callable

from envdsl.llm.base import LLMError, normalize_message

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})


class OpenAIChatClient:
    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 120.0, max_retries: int = 4, backoff: float = 1.0, max_backoff: float = 30.0,
                 default_params: dict[str, Any] | None = None, sleep: Callable[[float], None] = time.sleep):
        self.model = model
        self.base_url = (base_url or os.environ.get("OPENAI_BASE_URL") or "https://api.openai.com/v1").rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.default_params = dict(default_params or {})
        self._sleep = sleep
        self.attempts = 0  # requests sent, retries included: for tests and reports
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}  # summed from the replies' `usage`

    @property
    def url(self) -> str:
        # accept both ".../v1" and a bare host as the base URL
        base = self.base_url if self.base_url.endswith("/v1") else self.base_url + "/v1"
        return base + "/chat/completions"

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
             **params: Any) -> dict[str, Any]:
        body: dict[str, Any] = {"model": self.model, "messages": messages, **self.default_params, **params}
        if tools:
            body["tools"] = tools
        data = json.dumps(body, ensure_ascii=False).encode()
        last, hint = "no attempt made", None
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._sleep(self._delay(attempt, hint))
                hint = None
            self.attempts += 1
            try:
                status, text, retry_after = self._post(data)
            except (TimeoutError, socket.timeout) as e:
                last = f"timed out after {self.timeout}s ({e})"
                continue
            except urllib.error.URLError as e:
                last = f"cannot reach {self.url}: {e.reason}"
                continue
            except (ConnectionError, OSError) as e:
                last = f"connection failed: {e}"
                continue
            if status in RETRYABLE_STATUS:
                last = f"HTTP {status}: {text[:200]}"
                hint = retry_after
                continue
            if status >= 400:
                raise LLMError(f"HTTP {status} from {self.url}: {text[:500]}")
            try:
                payload = json.loads(text)
                message = normalize_message(payload["choices"][0]["message"])
            except (ValueError, KeyError, IndexError, TypeError, LLMError) as e:
                last = f"malformed completion ({type(e).__name__}: {e}): {text[:200]}"
                continue
            usage = payload.get("usage") if isinstance(payload, dict) else None
            if isinstance(usage, dict):
                for k in self.usage:
                    self.usage[k] += int(usage.get(k) or 0)
            return message
        raise LLMError(f"{self.url}: gave up after {self.max_retries + 1} attempts; last: {last}")

    def _delay(self, attempt: int, hint: float | None) -> float:
        if hint is not None:  # the server's Retry-After
            return min(hint, self.max_backoff)
        # full jitter keeps many workers from retrying in lockstep; it never changes what is returned
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def _post(self, data: bytes) -> tuple[int, str, float | None]:
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        request = urllib.request.Request(self.url, data=data, headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return response.status, response.read().decode("utf-8", "replace"), None
        except urllib.error.HTTPError as e:
            text = e.read().decode("utf-8", "replace") if e.fp else ""
            retry_after = e.headers.get("Retry-After") if e.headers else None
            try:
                hint = float(retry_after) if retry_after is not None else None
            except ValueError:
                hint = None
            return e.code, text, hint
