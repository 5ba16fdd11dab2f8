"""The OpenAI-compatible client against a tiny local server that serves scripted replies and faults."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from envdsl.llm import BackendUnavailable, LLMError, OpenAIChatClient, ScriptedBackend, normalize_message
from envdsl.llm.openai_compat import parse_retry_after

OK_BODY = {"choices": [{"index": 0, "message": {
    "role": "assistant", "content": None,
    "tool_calls": [{"id": "c1", "type": "function",
                    "function": {"name": "get_ticket", "arguments": {"ticket_id": "t0001"}}}]}}]}


class Script:
    """Replies the server gives, in order: ("ok", body) | ("status", code) | ("garbage",) | ("sleep", s)."""

    def __init__(self, steps):
        self.steps = list(steps)
        self.requests: list[dict] = []
        self.lock = threading.Lock()


@pytest.fixture
def server():
    holder: dict = {}

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):  # keep test output quiet
            pass

        def do_POST(self):
            script: Script = holder["script"]
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            with script.lock:
                script.requests.append({"path": self.path, "body": body, "auth": self.headers.get("Authorization")})
                step = script.steps.pop(0) if script.steps else ("status", 500)
            kind = step[0]
            if kind == "trickle":  # headers at once, then the body one byte every step[1] seconds
                data = json.dumps(OK_BODY).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                try:
                    for i in range(len(data)):
                        self.wfile.write(data[i:i + 1])
                        self.wfile.flush()
                        time.sleep(step[1])
                except (BrokenPipeError, ConnectionResetError, OSError):
                    pass
                return
            if kind == "sleep":
                time.sleep(step[1])
                step = ("ok", OK_BODY)
                kind = "ok"
            if kind == "ok":
                data = json.dumps(step[1]).encode()
                self.send_response(200)
            elif kind == "garbage":
                data = b'{"choices": [ this is not json'
                self.send_response(200)
            else:
                data = json.dumps({"error": {"message": f"status {step[1]}"}}).encode()
                self.send_response(step[1])
                if len(step) > 2:  # ("status", code, {header: value})
                    for name, value in step[2].items():
                        self.send_header(name, value)
                elif step[1] == 429:
                    self.send_header("Retry-After", "0")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            try:
                self.wfile.write(data)
            except (BrokenPipeError, ConnectionResetError):  # the client timed out and left
                pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()

    def use(steps) -> tuple[Script, str]:
        holder["script"] = Script(steps)
        return holder["script"], f"http://127.0.0.1:{httpd.server_address[1]}/v1"

    yield use
    httpd.shutdown()
    httpd.server_close()


def _client(url: str, **kw) -> tuple[OpenAIChatClient, list[float]]:
    slept: list[float] = []
    kw.setdefault("timeout", 2.0)
    return OpenAIChatClient("tiny-model", base_url=url, api_key="sk-test", backoff=0.01, sleep=slept.append,
                            **kw), slept


MESSAGES = [{"role": "user", "content": "Where is my ticket t0001?"}]
TOOLS = [{"type": "function", "function": {"name": "get_ticket", "parameters": {"type": "object"}}}]


def test_a_completion_with_tool_calls_is_normalised(server):
    script, url = server([("ok", OK_BODY)])
    client, slept = _client(url)
    msg = client.chat(MESSAGES, tools=TOOLS, temperature=0)
    assert msg == {"role": "assistant", "content": "", "tool_calls": [
        {"id": "c1", "type": "function", "function": {"name": "get_ticket", "arguments": '{"ticket_id": "t0001"}'}}]}
    req = script.requests[0]
    assert req["path"] == "/v1/chat/completions"
    assert req["auth"] == "Bearer sk-test"
    assert req["body"] == {"model": "tiny-model", "messages": MESSAGES, "tools": TOOLS, "temperature": 0}
    assert client.attempts == 1 and slept == []


@pytest.mark.parametrize("fault", [("status", 429), ("status", 500), ("status", 503), ("garbage",)])
def test_transient_faults_are_retried(server, fault):
    script, url = server([fault, fault, ("ok", OK_BODY)])
    client, slept = _client(url)
    msg = client.chat(MESSAGES)
    assert msg["tool_calls"][0]["function"]["name"] == "get_ticket"
    assert client.attempts == 3 and len(slept) == 2
    if fault == ("status", 429):
        assert slept == [0.0, 0.0]  # the server's Retry-After wins over the backoff


def test_a_timeout_is_retried(server):
    script, url = server([("sleep", 1.0), ("ok", OK_BODY)])
    client, slept = _client(url, timeout=0.2)
    t0 = time.perf_counter()
    msg = client.chat(MESSAGES)
    assert msg["tool_calls"][0]["id"] == "c1"
    assert client.attempts == 2 and len(slept) == 1
    assert time.perf_counter() - t0 < 1.0  # it did not wait for the slow reply


def test_backoff_grows_and_gives_up(server):
    script, url = server([("status", 500)] * 10)
    client, slept = _client(url, max_retries=3)
    with pytest.raises(LLMError, match="gave up after 4 attempts; last: HTTP 500"):
        client.chat(MESSAGES)
    assert client.attempts == 4 and len(script.requests) == 4
    # full jitter: each delay lies in [base/2, base] with base 0.01 * 2^(attempt-1)
    for i, delay in enumerate(slept):
        assert 0.01 * 2 ** i / 2 <= delay <= 0.01 * 2 ** i


def test_a_client_error_is_not_retried(server):
    script, url = server([("status", 400), ("ok", OK_BODY)])
    client, _ = _client(url)
    with pytest.raises(LLMError, match="HTTP 400"):
        client.chat(MESSAGES)
    assert client.attempts == 1


def test_unreachable_server(server):
    client, slept = _client("http://127.0.0.1:9/v1", max_retries=1, timeout=0.5)
    with pytest.raises(BackendUnavailable, match="gave up after 2 attempts; last: cannot reach"):
        client.chat(MESSAGES)


def test_concurrent_requests_share_one_client(server):
    script, url = server([("ok", OK_BODY)] * 16)
    client, _ = _client(url)
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(8) as pool:
        replies = list(pool.map(lambda _: client.chat(MESSAGES), range(16)))
    assert len(replies) == 16 and all(r["tool_calls"][0]["id"] == "c1" for r in replies)
    assert len(script.requests) == 16


def test_base_url_and_key_from_the_environment(monkeypatch):
    monkeypatch.setenv("OPENAI_BASE_URL", "http://localhost:8000")
    monkeypatch.setenv("OPENAI_API_KEY", "from-env")
    c = OpenAIChatClient("m")
    assert c.url == "http://localhost:8000/v1/chat/completions" and c.api_key == "from-env"


def test_normalize_message_and_the_scripted_backend():
    with pytest.raises(LLMError):
        normalize_message({"tool_calls": ["not a call"]})
    # a call without a name is the model's error, kept for the conversation to record (not retried)
    nameless = normalize_message({"tool_calls": [{"function": {"arguments": "{}"}}]})
    assert nameless["tool_calls"][0]["function"] == {"name": "", "arguments": "{}"}
    msg = normalize_message({"content": [{"type": "text", "text": "hi"}], "tool_calls": [
        {"function": {"name": "f", "arguments": "{}"}}]})
    assert msg == {"role": "assistant", "content": "hi",
                   "tool_calls": [{"id": "call_0", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}
    backend = ScriptedBackend(["hello", lambda messages, tools: {"content": str(len(messages))}])
    assert backend.chat(MESSAGES)["content"] == "hello"
    assert backend.chat(MESSAGES * 3)["content"] == "3"
    with pytest.raises(LLMError):
        backend.chat(MESSAGES)


@pytest.mark.parametrize("header,expected", [
    ("-5", "backoff"), ("nan", "backoff"), ("inf", "backoff"), ("soon", "backoff"),
    ("1e9", 30.0),  # huge: capped at max_backoff
    ("2.5", 2.5),
    ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0),  # a date in the past: retry now
])
def test_retry_after_is_validated(server, header, expected):
    script, url = server([("status", 503, {"Retry-After": header}), ("ok", OK_BODY)])
    client, slept = _client(url)
    msg = client.chat(MESSAGES)
    assert msg["tool_calls"][0]["id"] == "c1" and client.attempts == 2 and len(slept) == 1
    if expected == "backoff":  # the client's own jittered backoff: 0.01 * [0.5, 1]
        assert 0.005 <= slept[0] <= 0.01
    else:
        assert slept[0] == expected


def test_retry_after_as_a_future_http_date():
    now = 1_700_000_000.0
    future = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(now + 42))
    assert parse_retry_after(future, now=now) == 42.0
    assert parse_retry_after("  7 ") == 7.0
    assert parse_retry_after(None) is None and parse_retry_after("-1") is None and parse_retry_after("NaN") is None


@pytest.mark.parametrize("usage", [
    {"prompt_tokens": "many", "completion_tokens": None}, {"prompt_tokens": [1], "completion_tokens": {}},
    "not an object", {"prompt_tokens": -3, "completion_tokens": 1e400}, {"prompt_tokens": True},
])
def test_malformed_usage_keeps_the_reply(server, usage):
    script, url = server([("ok", {**OK_BODY, "usage": usage}), ("ok", {**OK_BODY, "usage": {
        "prompt_tokens": 10, "completion_tokens": 2.0}})])
    client, _ = _client(url)
    assert client.chat(MESSAGES)["tool_calls"][0]["id"] == "c1"
    assert client.attempts == 1 and client.usage == {"prompt_tokens": 0, "completion_tokens": 0}
    client.chat(MESSAGES)
    assert client.usage == {"prompt_tokens": 10, "completion_tokens": 2}


def test_a_trickling_server_is_bounded_by_the_total_deadline(server):
    # the body (about 170 bytes) arrives one byte every 0.1 s: 17 s in all, each read well inside the timeout
    script, url = server([("trickle", 0.1)] * 3)
    client, slept = _client(url, timeout=1.0, max_retries=1)
    t0 = time.perf_counter()
    with pytest.raises(BackendUnavailable, match="gave up after 2 attempts; last: timed out after 1.0s"):
        client.chat(MESSAGES)
    elapsed = time.perf_counter() - t0
    assert 1.9 <= elapsed < 6.0, elapsed  # two attempts of one second each, not 17 s each (slack for a busy CI)


@pytest.mark.parametrize("status,hint", [(401, "authentication failed"), (403, "authentication failed"),
                                         (404, "no such endpoint or model 'tiny-model'"), (400, "HTTP 400")])
def test_non_retryable_errors_mean_the_backend_is_unavailable(server, status, hint):
    script, url = server([("status", status), ("ok", OK_BODY)])
    client, _ = _client(url)
    with pytest.raises(BackendUnavailable, match=hint):
        client.chat(MESSAGES)
    assert client.attempts == 1


def test_no_request_without_an_endpoint(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    client = OpenAIChatClient("m", api_key="k")
    with pytest.raises(BackendUnavailable, match="no LLM endpoint configured"):
        client.chat(MESSAGES)
    assert client.attempts == 0
    assert OpenAIChatClient("m", base_url="openai").url == "https://api.openai.com/v1/chat/completions"


def test_malformed_replies_after_every_retry_are_not_a_backend_failure(server):
    script, url = server([("garbage",)] * 3)
    client, _ = _client(url, max_retries=2)
    with pytest.raises(LLMError, match="malformed completion") as info:
        client.chat(MESSAGES)
    assert not isinstance(info.value, BackendUnavailable)


def test_plain_http_goes_through_the_proxy_the_environment_names(server, monkeypatch):
    script, url = server([("ok", OK_BODY)])
    proxy = url.removesuffix("/v1")
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", proxy)
    client, _ = _client("http://llm.example.invalid:8000/v1")
    assert client.chat(MESSAGES)["tool_calls"][0]["id"] == "c1"
    assert script.requests[0]["path"] == "http://llm.example.invalid:8000/v1/chat/completions"
