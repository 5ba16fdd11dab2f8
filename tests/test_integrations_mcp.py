"""`envdsl serve` driven by the MCP SDK's own client, over stdio and over streamable HTTP on 127.0.0.1.

Every test is bounded (anyio.fail_after) and stops the server process it started."""

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters, stdio_client

from envdsl.runtime.loader import load_environment_class
from envdsl.tasks.io import write_jsonl
from envdsl.tasks.sampler import SampleConfig, TaskSampler

REPO = Path(__file__).resolve().parents[1]
BANK = REPO / "generated" / "bank"
IBAN = "NL91ABNA0417164300"


@pytest.fixture(scope="module")
def task_file(tmp_path_factory):
    env_cls = load_environment_class(BANK)
    tasks = TaskSampler(env_cls(), SampleConfig(), seed=11, spec="bank").sample(4)
    path = tmp_path_factory.mktemp("mcp") / "tasks.jsonl"
    write_jsonl(path, tasks)
    return path, tasks


def _text(result):
    return result.content[0].text


async def _start(client, **arguments):
    result = await client.call_tool("start_episode", arguments)
    assert not result.is_error, _text(result)
    return json.loads(_text(result))


async def _state(client, handle):
    result = await client.read_resource(f"envdsl://episodes/{handle}/state")
    return json.loads(result.contents[0].text)


def test_stdio_tools_episodes_errors_and_rollback(task_file):
    path, tasks = task_file
    env_cls = load_environment_class(BANK)
    params = StdioServerParameters(command=sys.executable, args=["-m", "envdsl", "serve", str(BANK), "--tasks",
                                                                 str(path)], cwd=str(REPO))

    async def main():
        with anyio.fail_after(90):
            async with Client(stdio_client(params)) as client:
                listed = (await client.list_tools()).tools
                names = [t.name for t in listed]
                assert names == ["start_episode", "score_episode", "end_episode"] + \
                    [s["function"]["name"] for s in env_cls.SCHEMAS]
                for tool in listed[3:]:
                    effect = env_cls.TOOLS[tool.name].effect
                    assert tool.annotations.read_only_hint is (effect == "read")
                    assert tool.annotations.destructive_hint is (effect == "write")
                    want = next(s["function"]["parameters"] for s in env_cls.SCHEMAS
                                if s["function"]["name"] == tool.name)
                    assert tool.input_schema["required"] == ["episode", *want.get("required", [])]
                    assert {k: v for k, v in tool.input_schema["properties"].items() if k != "episode"} == \
                        want["properties"]
                assert names == [t.name for t in (await client.list_tools()).tools]  # the same order every time

                # a task played with its gold calls scores 1; an untouched episode of it scores 0
                task = next(t for t in tasks if t["gold_state_hash"] != t["initial_state_hash"])
                started = await _start(client, task_id=task["task_id"])
                assert started["user"].startswith("Hi! ")
                idle = await _start(client, task_id=task["task_id"])
                for call in task["gold_calls"]:
                    result = await client.call_tool(call["name"], {"episode": started["episode"],
                                                                   **json.loads(call["arguments"])})
                    assert result.is_error is (not call["ok"]), _text(result)
                score = json.loads(_text(await client.call_tool("score_episode", {"episode": started["episode"]})))
                assert score == {"reward": 1.0, "state_ok": True, "calls_ok": True, "problems": []}
                score = json.loads(_text(await client.call_tool("score_episode", {"episode": idle["episode"]})))
                assert score["reward"] == 0.0 and score["problems"] == ["state_mismatch"]

                # malformed calls are answered with errors, the server stays up
                free = (await _start(client))["episode"]
                bad = [("no_such_tool", {"episode": free}),
                       ("get_customer", {"customer_id": "c001"}),
                       ("get_customer", {"episode": "ep0-nope", "customer_id": "c001"}),
                       ("get_customer", {"episode": free}),
                       ("get_customer", {"episode": free, "customer_id": 7}),
                       ("get_customer", {"episode": free, "customer_id": "c001", "extra": 1}),
                       ("start_episode", {"task_id": "nope"}),
                       ("start_episode", {"domain": "bank", "seed": -1}),
                       ("score_episode", {"episode": free})]
                for name, arguments in bad:
                    result = await client.call_tool(name, arguments)
                    assert result.is_error and _text(result).startswith("Error: "), (name, _text(result))
                with pytest.raises(Exception, match="no such resource"):
                    await client.read_resource("envdsl://episodes/ep0-nope/state")

                # a failed write leaves the episode's state exactly as it was
                before = await _state(client, free)
                ok = await client.call_tool("add_payee", {"episode": free, "customer_id": "c001",
                                                          "nickname": "Mine", "iban": IBAN})
                assert not ok.is_error
                after_add = await _state(client, free)
                for name, arguments in [("add_payee", {"customer_id": "c001", "nickname": "Again", "iban": IBAN}),
                                        ("cancel_transfer", {"transfer_id": "tr_0002"})]:
                    failed = await client.call_tool(name, {"episode": free, **arguments})
                    assert failed.is_error
                    assert await _state(client, free) == after_add
                assert after_add != before

                # an ended episode is gone
                await client.call_tool("end_episode", {"episode": free})
                assert (await client.call_tool("get_customer", {"episode": free, "customer_id": "c001"})).is_error

    anyio.run(main)


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_http_fifty_parallel_episodes_share_nothing():
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "envdsl", "serve", str(BANK), "--transport", "http",
                             "--port", str(port)], cwd=str(REPO), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert proc.poll() is None, proc.stderr.read().decode()
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "the server did not start listening"
                time.sleep(0.2)

        async def one(client, i, seen):
            handle = (await _start(client))["episode"]
            nickname = f"payee-{i}"
            result = await client.call_tool("add_payee", {"episode": handle, "customer_id": "c001",
                                                          "nickname": nickname, "iban": IBAN})
            assert not result.is_error, _text(result)
            state = await _state(client, handle)
            mine = [p for p in state["payees"].values() if p["iban"] == IBAN]
            # the same IBAN in 50 episodes: each sees exactly its own payee, so no write leaked across
            assert [p["nickname"] for p in mine] == [nickname]
            seen.append(handle)

        async def main():
            with anyio.fail_after(120):
                async with Client(f"http://127.0.0.1:{port}/mcp") as client:
                    seen = []
                    async with anyio.create_task_group() as tg:
                        for i in range(50):
                            tg.start_soon(one, client, i, seen)
                    assert len(set(seen)) == 50
                    fresh = await _start(client)
                    assert not [p for p in (await _state(client, fresh["episode"]))["payees"].values()
                                if p["iban"] == IBAN]

        anyio.run(main)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.mark.parametrize("argv, message", [
    (["serve", "no/such/spec.env"], "no/such/spec.env"),
    (["serve", str(BANK), "--transport", "smoke-signals"], "smoke-signals"),
    (["serve", str(BANK), "--tasks", "TASKS_OF_ANOTHER_DOMAIN"], "no task of the served domain"),
    (["serve", str(BANK), "--tasks", "NOT_TASKS"], "task 1 of the task file is not a task"),
])
def test_serve_refuses_bad_input_with_a_message(tmp_path, argv, message):
    other = tmp_path / "library.jsonl"
    write_jsonl(other, [{"task_id": "lib-1", "domain": "library"}])
    junk = tmp_path / "junk.jsonl"
    junk.write_text("[1, 2]\n", encoding="utf-8")
    argv = [{"TASKS_OF_ANOTHER_DOMAIN": str(other), "NOT_TASKS": str(junk)}.get(a, a) for a in argv]
    done = subprocess.run([sys.executable, "-m", "envdsl", *argv], cwd=str(REPO), capture_output=True, text=True,
                          timeout=60, stdin=subprocess.DEVNULL)
    assert done.returncode != 0
    assert message in done.stderr and "Traceback" not in done.stderr and "internal error" not in done.stderr
