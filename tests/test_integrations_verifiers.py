"""envdsl as a verifiers 0.4 (`verifiers.v1`) taskset, driven offline through verifiers' own API.

The taskset is loaded the way verifiers loads one (`vf.load_taskset` with a plugin id), each task's
`setup` and reward run on a real `vf.Trace`, and the toolset's tools are registered on the MCP SDK's
MCPServer (as verifiers' tool server does) and called through the SDK's in-process client. The one
thing replaced is the HTTP state channel between tool server and host: the toolset reads and writes
the trace's state object directly."""

import json
from pathlib import Path

import anyio
import pytest
import verifiers.v1 as vf
from mcp.client import Client
from mcp.server.mcpserver import MCPServer
from verifiers.v1.trace import AgentInfo

from envdsl.runtime.loader import load_environment_class
from envdsl.tasks.io import write_jsonl
from envdsl.tasks.sampler import SampleConfig, TaskSampler
from envdsl_verifiers import EnvdslState, EnvdslTaskset, EnvdslTasksetConfig

REPO = Path(__file__).resolve().parents[1]
BANK = REPO / "generated" / "bank"


@pytest.fixture(scope="module")
def config(tmp_path_factory):
    tasks = TaskSampler(load_environment_class(BANK)(), SampleConfig(), seed=21, spec="bank").sample(4)
    library = TaskSampler(load_environment_class(REPO / "generated" / "library")(), SampleConfig(), seed=1,
                          spec="library").sample(1)
    path = tmp_path_factory.mktemp("vf") / "tasks.jsonl"
    write_jsonl(path, tasks + library)
    return EnvdslTasksetConfig(id="envdsl-verifiers", package=str(BANK), tasks=str(path)), tasks


def _trace(task):
    return vf.Trace(task=vf.TraceTask(type=type(task).__name__, data=task.data, key=task.key, hash=task.hash),
                    state=EnvdslState(), agent=AgentInfo(config=vf.AgentConfig()))


def test_loaded_by_plugin_id_with_one_task_per_bank_task(config):
    cfg, tasks = config
    taskset = vf.load_taskset(cfg)
    assert isinstance(taskset, EnvdslTaskset)
    loaded = list(taskset)
    assert [t.key for t in loaded] == [t["task_id"] for t in tasks]  # the library task is left out
    assert loaded[0].data.prompt.startswith("Hi! ") and "Policy" in loaded[0].data.system_prompt
    assert [t.key for t in taskset.shuffle(seed=1).take(2)]  # verifiers' own views work on it


def _serve(toolset, state):
    """An MCPServer with the toolset registered, its state channel replaced by `state`."""

    async def pull():
        return state

    async def push(before):
        return None

    toolset._pull_state = pull
    toolset._push_state = push
    server = MCPServer("envdsl-bank")
    toolset.register(server)
    return server


def test_tools_rollout_and_reward_through_verifiers_api(config):
    cfg, tasks = config
    taskset = vf.load_taskset(cfg)
    env_cls = load_environment_class(BANK)
    task = next(t for t in taskset if t.data.task["gold_state_hash"] != t.data.task["initial_state_hash"])
    gold = task.data.task

    async def main():
        with anyio.fail_after(60):
            # a rollout that makes the gold calls: reward 1
            trace = _trace(task)
            await task.setup(trace, None)
            toolset = EnvdslTaskset.toolsets(cfg)[0]
            async with Client(_serve(toolset, trace.state)) as client:
                listed = (await client.list_tools()).tools
                assert [t.name for t in listed] == [s["function"]["name"] for s in env_cls.SCHEMAS]
                for tool in listed:
                    effect = env_cls.TOOLS[tool.name].effect
                    assert tool.annotations.read_only_hint is (effect == "read")
                    want = next(s["function"]["parameters"] for s in env_cls.SCHEMAS
                                if s["function"]["name"] == tool.name)
                    assert sorted(tool.input_schema.get("required", [])) == sorted(want.get("required", []))
                    assert set(tool.input_schema["properties"]) == set(want["properties"])
                for call in gold["gold_calls"]:
                    result = await client.call_tool(call["name"], json.loads(call["arguments"]))
                    assert result.is_error is False
                    assert (not _text(result).startswith("Error:")) is call["ok"], _text(result)
            await task.score(trace)
            assert trace.rewards["solved"].score == 1.0

            # a rollout whose only call fails: the state stays the initial one, reward 0
            trace = _trace(task)
            await task.setup(trace, None)
            initial = trace.state.env_state
            async with Client(_serve(EnvdslTaskset.toolsets(cfg)[0], trace.state)) as client:
                result = await client.call_tool("cancel_transfer", {"transfer_id": "tr_9999"})
                assert _text(result).startswith("Error: Transfer tr_9999 not found")
            assert trace.state.env_state == initial
            assert trace.state.calls == [{"name": "cancel_transfer", "arguments": {"transfer_id": "tr_9999"},
                                          "ok": False}]
            await task.score(trace)
            assert trace.rewards["solved"].score == 0.0

    anyio.run(main)


def _text(result):
    return result.content[0].text
