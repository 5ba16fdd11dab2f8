"""An envdsl domain and its tasks as a verifiers (0.4, `verifiers.v1`) taskset with an MCP toolset.

verifiers 0.4 loads a taskset by id: `vf.load_taskset(config)` imports the module the id names and
takes the one `Taskset` subclass in its `__all__`. So this module is loadable as it stands:

    import verifiers.v1 as vf
    from envdsl.integrations.verifiers import EnvdslTasksetConfig
    taskset = vf.load_taskset(EnvdslTasksetConfig(id="envdsl.integrations.verifiers",
                                                  package="generated/bank", tasks="tasks.jsonl"))

(or `--env.taskset.id envdsl.integrations.verifiers --env.taskset.package ... --env.taskset.tasks ...`
on verifiers' command line). The pieces:

- `EnvdslTaskset` yields one `EnvdslTask` per task of the domain in the task file: the user's
  opening as the prompt, the domain's policy as the system prompt, the task record as data;
- `EnvdslToolset` is the tool server (verifiers runs it as an MCP server): the domain's agent tools
  with typed signatures and the spec's descriptions, read/write annotations, each call running on
  the rollout's own state (`EnvdslState.env_state`, synced by verifiers' state channel), a failed
  call leaving it unchanged;
- the task's `setup` puts the task's initial state in the rollout state, and its reward `solved`
  scores the final state against the task's gold with envdsl's scoring (policy checks included,
  through `envdsl.integrations.scoring.EXTRA_CHECKS`).
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from typing import Any

import verifiers.v1 as vf
from pydantic import Field

from envdsl.integrations.episodes import Episode, opening, system_prompt
from envdsl.integrations.pytools import tool_functions, tool_method
from envdsl.integrations.scoring import score_episode
from envdsl.runtime.loader import load_environment_class
from envdsl.tasks.io import read_jsonl

__all__ = ["EnvdslData", "EnvdslState", "EnvdslTask", "EnvdslTaskset", "EnvdslTasksetConfig", "EnvdslToolset",
           "EnvdslToolsetConfig"]


class EnvdslState(vf.State):
    """The rollout's envdsl state: set by the task's setup, changed by tool calls, read by the reward."""

    env_state: dict[str, Any] | None = None
    calls: list[dict[str, Any]] = Field(default_factory=list)


class EnvdslData(vf.TaskData):
    package: str
    """The generated package of the domain (envdsl compile's output folder for it)."""
    task: dict[str, Any]
    """The envdsl task record (gold calls, gold state hash, initial state, user facts)."""


class EnvdslTask(vf.Task[EnvdslData, EnvdslState, vf.TaskConfig]):
    @property
    def key(self) -> str:
        return str(self.data.task["task_id"])

    async def setup(self, trace: Any, runtime: Any = None) -> None:
        env = load_environment_class(self.data.package)()
        Episode(env).start(self.data.task)  # refuses a stale task
        trace.state.env_state = env.state()
        trace.state.calls = []

    @vf.reward
    async def solved(self, trace: Any) -> float:
        """1.0 when the final state (and, for read-only tasks, the calls) match the task's gold."""
        state: EnvdslState = trace.state
        if state.env_state is None:
            return 0.0
        env = load_environment_class(self.data.package)(state=state.env_state)
        return score_episode(env, self.data.task, state.calls).reward


class EnvdslToolsetConfig(vf.ToolsetConfig):
    package: str


class EnvdslToolset(vf.Toolset[EnvdslToolsetConfig, EnvdslState]):
    TOOL_PREFIX = None  # the domain's own tool names, as in its spec

    def __init__(self, config: EnvdslToolsetConfig) -> None:
        super().__init__(config)
        self.env_cls = load_environment_class(config.package)

    def run_tool(self, state: EnvdslState, name: str, arguments: dict[str, Any]) -> str:
        """One call on `state` (changed in place only when the call succeeds)."""
        if state.env_state is None:
            return "Error: no episode state: the task's setup has not run"
        env = self.env_cls(state=state.env_state)
        result = env.call(name, arguments)
        if result.ok:
            state.env_state = env.state()
        state.calls.append({"name": name, "arguments": arguments, "ok": result.ok})
        return str(result.content)

    def tools(self) -> list[tuple[str, Any, dict[str, Any]]]:
        """(name, bound method with the tool's typed signature, annotations) per agent tool, in order."""
        out = []
        for function in tool_functions(self.env_cls):
            method = tool_method(function, lambda toolset, name, args: toolset.run_tool(toolset.state, name, args))
            effect = self.env_cls.TOOLS[function["name"]].effect
            out.append((function["name"], types.MethodType(method, self),
                        {"readOnlyHint": effect == "read", "destructiveHint": effect == "write",
                         "idempotentHint": effect == "read", "openWorldHint": False}))
        return out

    def register(self, mcp: Any) -> None:
        from mcp_types import ToolAnnotations

        for name, method, hints in self.tools():
            mcp.add_tool(self._with_state(method), name=name, description=(method.__doc__ or "").split("\n\n")[0],
                         annotations=ToolAnnotations.model_validate(hints))


class EnvdslTasksetConfig(vf.TasksetConfig):
    package: str
    """The generated package of the domain, such as generated/bank."""
    tasks: str
    """A task file (envdsl tasks); the tasks of other domains in it are left out."""


class EnvdslTaskset(vf.Taskset[EnvdslTask, EnvdslTasksetConfig]):
    def load(self) -> Iterator[EnvdslTask]:
        env_cls = load_environment_class(self.config.package)
        for task in read_jsonl(self.config.tasks):
            if task.get("domain") != env_cls.DOMAIN:
                continue
            yield EnvdslTask(EnvdslData(id=task["task_id"], name=task["task_id"], prompt=opening(task),
                                        system_prompt=system_prompt(env_cls), package=str(self.config.package),
                                        task=task), self.config.task)

    @classmethod
    def toolsets(cls, config: EnvdslTasksetConfig) -> list[Any]:
        return [EnvdslToolset(EnvdslToolsetConfig(package=config.package))]
