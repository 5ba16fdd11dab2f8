"""The OpenAI-compatible client against a tiny local server that serves scripted replies and faults."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from envdsl.llm import LLMError, OpenAIChatClient, ScriptedBackend, normalize_message

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
                if step[1] == 429:
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
    with pytest.raises(LLMError, match="gave up after 2 attempts"):
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
