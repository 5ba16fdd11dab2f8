"""A client for OpenAI-compatible chat completion servers (vLLM, SGLang, OpenAI) over plain HTTP.

Standard library only (http.client), so it works wherever Python does. It is thread-safe (every
request opens its own connection), so callers get concurrency from a thread pool. Transient
faults are retried with exponential backoff: timeouts, connection errors, 408/409/429 and 5xx
replies, and bodies that are not a well-formed completion (a proxy's HTML error page, a
truncated JSON body). Other 4xx replies are the caller's fault and fail at once.

Failures that say nothing about the model (no endpoint configured, unreachable after every retry,
401/403/404 and other non-retryable 4xx) raise BackendUnavailable, so a rollout stops instead of
scoring them. `timeout` bounds each attempt as a whole (connect, headers and body together), not
each socket read: a server trickling one byte at a time cannot hold a call past it.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import math
import os
import random
import socket
import ssl
import threading
import time
import urllib.parse
import urllib.request
from datetime import timezone
from typing import Any, Callable

from envdsl.llm.base import BackendUnavailable, LLMError, normalize_message

RETRYABLE_STATUS = frozenset({408, 409, 429, 500, 502, 503, 504})
OPENAI_DEFAULT = "https://api.openai.com/v1"
# `--base-url openai` asks for the public endpoint by name: nothing is sent there unless someone says so
NAMED_ENDPOINTS = {"openai": OPENAI_DEFAULT}
_CHUNK = 65536


def resolve_base_url(base_url: str | None) -> str | None:
    """The endpoint to use: the argument, else $OPENAI_BASE_URL; `openai` names the public OpenAI API.
    None when neither is set: no request is sent to a default the user did not choose."""
    url = base_url or os.environ.get("OPENAI_BASE_URL") or None
    if url is None:
        return None
    return NAMED_ENDPOINTS.get(url.strip().lower(), url).rstrip("/")


NO_ENDPOINT = ("no LLM endpoint configured: pass --base-url URL (e.g. http://localhost:8000/v1 for vLLM or "
               "SGLang) or set OPENAI_BASE_URL; to use the public OpenAI API say so with --base-url openai")


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or an HTTP-date); None when the value is
    missing, negative, not finite or not a date, so the caller falls back on its own backoff."""
    if value is None:
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when is None:
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=timezone.utc)
        seconds = when.timestamp() - (time.time() if now is None else now)
        return max(0.0, seconds)  # a date in the past means "now"
    if not math.isfinite(seconds) or seconds < 0:
        return None
    return seconds


def _count(value: Any) -> int:
    """A token count from a reply's `usage`: a non-negative finite number, else 0 (a server's bookkeeping
    is never a reason to throw a usable reply away)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    if isinstance(value, float) and not math.isfinite(value):
        return 0
    return max(0, int(value))


class _Deadline(Exception):
    pass


class OpenAIChatClient:
    def __init__(self, model: str, *, base_url: str | None = None, api_key: str | None = None,
                 timeout: float = 120.0, max_retries: int = 4, backoff: float = 1.0, max_backoff: float = 30.0,
                 default_params: dict[str, Any] | None = None, sleep: Callable[[float], None] = time.sleep):
        self.model = model
        self.base_url = resolve_base_url(base_url)
        self.api_key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY", "")
        self.timeout = timeout
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.default_params = dict(default_params or {})
        self._sleep = sleep
        self.attempts = 0  # requests sent, retries included: for tests and reports
        self.usage = {"prompt_tokens": 0, "completion_tokens": 0}  # summed from the replies' `usage`
        # `choices[0].finish_reason` of the last completion ("length" when cut at max_tokens); the returned
        # message leaves it out because messages go back to the server as conversation history
        self.last_finish_reason: str | None = None
        self._usage_lock = threading.Lock()

    @property
    def url(self) -> str:
        if self.base_url is None:
            raise BackendUnavailable(NO_ENDPOINT)
        # accept both ".../v1" and a bare host as the base URL
        base = self.base_url if self.base_url.endswith("/v1") else self.base_url + "/v1"
        return base + "/chat/completions"

    def chat(self, messages: list[dict[str, Any]], tools: list[dict[str, Any]] | None = None,
             **params: Any) -> dict[str, Any]:
        url = self.url
        body: dict[str, Any] = {"model": self.model, "messages": messages, **self.default_params, **params}
        if tools:
            body["tools"] = tools
        data = json.dumps(body, ensure_ascii=False).encode()
        last, hint, unavailable = "no attempt made", None, False
        for attempt in range(self.max_retries + 1):
            if attempt:
                self._sleep(self._delay(attempt, hint))
                hint = None
            self.attempts += 1
            try:
                status, text, retry_after = self._post(url, data)
            except (_Deadline, TimeoutError, socket.timeout) as e:
                last, unavailable = f"timed out after {self.timeout}s ({e or 'total deadline'})", True
                continue
            except (http.client.HTTPException, ConnectionError, OSError) as e:
                last, unavailable = f"cannot reach {url}: {type(e).__name__}: {e}", True
                continue
            if status in RETRYABLE_STATUS:
                last, unavailable = f"HTTP {status}: {text[:200]}", True
                hint = retry_after
                continue
            if status >= 400:
                raise BackendUnavailable(f"HTTP {status} from {url}{_status_hint(status, self.model)}: {text[:500]}")
            try:
                payload = json.loads(text)
                message = normalize_message(payload["choices"][0]["message"])
            except (ValueError, KeyError, IndexError, TypeError, LLMError) as e:
                last, unavailable = f"malformed completion ({type(e).__name__}: {e}): {text[:200]}", False
                continue
            reason = payload["choices"][0].get("finish_reason")
            self.last_finish_reason = reason if isinstance(reason, str) else None
            usage = payload.get("usage") if isinstance(payload, dict) else None
            if isinstance(usage, dict):
                with self._usage_lock:
                    for k in self.usage:
                        self.usage[k] += _count(usage.get(k))
            return message
        error = BackendUnavailable if unavailable else LLMError
        raise error(f"{url}: gave up after {self.max_retries + 1} attempts; last: {last}")

    def _delay(self, attempt: int, hint: float | None) -> float:
        if hint is not None:  # the server's Retry-After, already validated (finite, >= 0)
            return min(hint, self.max_backoff)
        # full jitter keeps many workers from retrying in lockstep; it never changes what is returned
        return min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)

    def _post(self, url: str, data: bytes) -> tuple[int, str, float | None]:
        """One attempt, bounded as a whole by self.timeout: a watchdog shuts the socket at the deadline, which
        ends any read in progress, however the server paces its bytes."""
        deadline = time.monotonic() + self.timeout
        parts = urllib.parse.urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise BackendUnavailable(f"not an http(s) URL: {url!r}")
        conn, path = _connection(parts, self.timeout)
        expired = threading.Event()

        def expire() -> None:
            expired.set()
            sock = conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

        watchdog = threading.Timer(self.timeout, expire)
        watchdog.daemon = True
        watchdog.start()
        headers = {"Content-Type": "application/json"}
        if self.api_key:
            headers["Authorization"] = f"Bearer {self.api_key}"
        try:
            conn.request("POST", path, body=data, headers=headers)
            response = conn.getresponse()
            chunks = []
            while True:
                if time.monotonic() > deadline:
                    raise _Deadline(f"total deadline of {self.timeout}s passed")
                chunk = response.read1(_CHUNK) if hasattr(response, "read1") else response.read(_CHUNK)
                if not chunk:
                    break
                chunks.append(chunk)
            if expired.is_set():
                raise _Deadline(f"total deadline of {self.timeout}s passed")
            text = b"".join(chunks).decode("utf-8", "replace")
            hint = parse_retry_after(response.getheader("Retry-After")) if response.status >= 400 else None
            return response.status, text, hint
        except (OSError, http.client.HTTPException):
            if expired.is_set():
                raise _Deadline(f"total deadline of {self.timeout}s passed") from None
            raise
        finally:
            watchdog.cancel()
            conn.close()


def _connection(parts: urllib.parse.SplitResult, timeout: float) -> tuple[http.client.HTTPConnection, str]:
    """A connection for the URL and the request target to send on it, through the proxy that HTTP(S)_PROXY
    names unless NO_PROXY exempts the host (what urllib did for this client before): plain HTTP goes to the
    proxy with the absolute URL, HTTPS through a CONNECT tunnel."""
    host, port = parts.hostname or "", parts.port
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    proxy = urllib.request.getproxies().get(parts.scheme)
    if proxy and urllib.request.proxy_bypass(host):
        proxy = None
    conn: http.client.HTTPConnection
    if proxy:
        p = urllib.parse.urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(p.hostname or "", p.port or 8080, timeout=timeout,
                                               context=ssl.create_default_context())
            conn.set_tunnel(host, port or 443)
            return conn, path
        return http.client.HTTPConnection(p.hostname or "", p.port or 8080, timeout=timeout), \
            urllib.parse.urlunsplit(parts)
    if parts.scheme == "https":
        return http.client.HTTPSConnection(host, port, timeout=timeout, context=ssl.create_default_context()), path
    return http.client.HTTPConnection(host, port, timeout=timeout), path


def _status_hint(status: int, model: str) -> str:
    if status in (401, 403):
        return " (authentication failed: check --api-key or OPENAI_API_KEY)"
    if status == 404:
        return f" (no such endpoint or model {model!r}: check --base-url and the model name the server serves)"
    return ""
