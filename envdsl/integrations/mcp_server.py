"""`envdsl serve`: a domain's tools over the Model Context Protocol, with explicit episodes.

Many clients may share one server without sharing state: nothing runs on a global state. A client
calls `start_episode` (from a task of the task file, from a state generated from a seed, or on the
seed state) and gets a handle; every domain tool takes that handle as its `episode` argument and runs
on that episode's own environment. `score_episode` scores a task's episode against its gold final
state, `end_episode` frees it, and the state of an episode is the resource
`envdsl://episodes/{episode}/state`.

Tools are listed in a fixed order (episode tools, then each domain's tools in declaration order,
domains sorted by name) with the domain's own JSON schemas plus `episode`, and annotations from the
spec's effects: read tools are readOnlyHint, write tools destructiveHint. A failed call (unknown
tool or episode, bad arguments, a tool that fails) is answered with isError and an `Error: ...`
text, and leaves the episode's state exactly as it was (envdsl's runtime rolls a failed write back).

`EpisodeTable` holds the logic and imports no MCP code; `build_server` wraps it in the SDK's low-level
server; `serve` runs that over stdio or streamable HTTP.
"""

from __future__ import annotations

import copy
import json
import secrets
from typing import Any, Mapping

from envdsl.integrations.episodes import Episode, StaleTask, agent_tools, opening
from envdsl.integrations.scoring import Score

EPISODE_TOOLS = ("start_episode", "score_episode", "end_episode")
STATE_URI = "envdsl://episodes/{episode}/state"
MAX_EPISODES = 10_000  # open at once; a client that never ends its episodes cannot exhaust memory


class CallError(Exception):
    """A malformed or impossible call: answered to the client as an error result."""


class EpisodeTable:
    """The domains, the tasks and the open episodes of one server."""

    def __init__(self, environments: Mapping[str, Any], tasks: list[dict[str, Any]] | None = None):
        if not environments:
            raise ValueError("no domain to serve")
        self.environments = dict(sorted(environments.items()))
        # a task file may hold tasks of other domains too: only the served domains' tasks can be started
        for n, t in enumerate(tasks or [], 1):
            if not isinstance(t, dict) or not isinstance(t.get("task_id"), str):
                raise ValueError(f"task {n} of the task file is not a task (an object with a task_id)")
        self.tasks = {t["task_id"]: t for t in tasks or [] if t.get("domain") in self.environments}
        if tasks and not self.tasks:
            raise ValueError(f"the task file has no task of the served domain(s) {', '.join(self.environments)}")
        self.episodes: dict[str, tuple[str, Episode]] = {}
        self._count = 0
        self.tools = self._tool_table()

    # ---- the tool list
    def _tool_table(self) -> dict[str, tuple[str, dict[str, Any]]]:
        """{MCP tool name: (domain, OpenAI function)}: plain tool names for one domain, 'domain.tool' for several."""
        several = len(self.environments) > 1
        out: dict[str, tuple[str, dict[str, Any]]] = {}
        for domain, env_cls in self.environments.items():
            wanted = {t["name"] for t in agent_tools(env_cls)}
            for schema in env_cls.SCHEMAS:
                function = schema["function"]
                if function["name"] not in wanted:
                    continue
                name = f"{domain}.{function['name']}" if several else function["name"]
                if name in EPISODE_TOOLS:
                    raise ValueError(f"domain {domain}: tool {name!r} has the name of an episode tool; rename it")
                if "episode" in function["parameters"].get("properties", {}):
                    raise ValueError(f"domain {domain}: tool {function['name']!r} has a parameter named 'episode', "
                                     "which the server adds to every tool; rename it")
                out[name] = (domain, function)
        return out

    def tool_descriptions(self) -> list[dict[str, Any]]:
        """Every tool as {name, description, inputSchema, annotations}, in the server's fixed order."""
        domains = ", ".join(self.environments)
        episode = {"type": "string", "description": "The episode handle that start_episode returned"}
        out = [
            {"name": "start_episode",
             "description": "Start an episode (its own copy of the state) and return its handle. Give task_id to "
                            "play a task from the task file; otherwise domain, and seed for a generated state "
                            f"(without seed: the domain's seed state). Domains: {domains}.",
             "inputSchema": {"type": "object", "properties": {
                 "task_id": {"type": "string", "description": "A task of the server's task file"},
                 "domain": {"type": "string", "enum": list(self.environments), "description": "The domain"},
                 "seed": {"type": "integer", "minimum": 0, "description": "Generate the initial state from it"}},
                 "additionalProperties": False},
             "annotations": {"readOnlyHint": False, "destructiveHint": False, "idempotentHint": False,
                             "openWorldHint": False}},
            {"name": "score_episode",
             "description": "Score a task's episode: its final state (and, for read-only tasks, its calls) against "
                            "the task's gold. Returns reward (1.0 or 0.0) and the problems found.",
             "inputSchema": {"type": "object", "properties": {"episode": episode}, "required": ["episode"],
                             "additionalProperties": False},
             "annotations": {"readOnlyHint": True, "destructiveHint": False, "idempotentHint": True,
                             "openWorldHint": False}},
            {"name": "end_episode",
             "description": "End an episode and free its state.",
             "inputSchema": {"type": "object", "properties": {"episode": episode}, "required": ["episode"],
                             "additionalProperties": False},
             "annotations": {"readOnlyHint": False, "destructiveHint": True, "idempotentHint": False,
                             "openWorldHint": False}},
        ]
        for name, (domain, function) in self.tools.items():
            effect = self.environments[domain].TOOLS[function["name"]].effect
            params = copy.deepcopy(function["parameters"])
            params["properties"] = {"episode": episode, **params.get("properties", {})}
            params["required"] = ["episode", *params.get("required", [])]
            out.append({"name": name, "description": function.get("description", ""), "inputSchema": params,
                        "annotations": {"readOnlyHint": effect == "read", "destructiveHint": effect == "write",
                                        "idempotentHint": effect == "read", "openWorldHint": False}})
        return out

    # ---- episodes
    def start(self, arguments: dict[str, Any]) -> dict[str, Any]:
        unknown = sorted(set(arguments) - {"task_id", "domain", "seed"})
        if unknown:
            raise CallError(f"start_episode: unexpected argument(s) {', '.join(map(repr, unknown))}")
        if len(self.episodes) >= MAX_EPISODES:
            raise CallError(f"too many open episodes ({MAX_EPISODES}); end some with end_episode")
        task_id, domain, seed = arguments.get("task_id"), arguments.get("domain"), arguments.get("seed")
        if seed is not None and (not isinstance(seed, int) or isinstance(seed, bool) or seed < 0):
            raise CallError("start_episode: seed must be a non-negative integer")
        if task_id is not None:
            if seed is not None:
                raise CallError("start_episode: give task_id or seed, not both (a task fixes its initial state)")
            task = self.tasks.get(task_id) if isinstance(task_id, str) else None
            if task is None:
                raise CallError(f"start_episode: unknown task_id {task_id!r}"
                                + ("" if self.tasks else " (the server was started without --tasks)"))
            if domain is not None and domain != task["domain"]:
                raise CallError(f"start_episode: task {task_id!r} is for domain {task['domain']!r}, not {domain!r}")
            domain = task["domain"]
        elif domain is None and len(self.environments) == 1:
            domain = next(iter(self.environments))
        if domain not in self.environments:
            raise CallError(f"start_episode: unknown domain {domain!r}; served: {', '.join(self.environments)}")
        episode = Episode(self.environments[domain]())
        try:
            if task_id is not None:
                episode.start(self.tasks[task_id])
            else:
                episode.start_free(seed)
        except StaleTask as e:
            raise CallError(str(e)) from None
        except Exception as e:  # a generator that cannot make a valid state for this seed
            raise CallError(f"start_episode: cannot build the initial state: {e}") from None
        self._count += 1
        handle = f"ep{self._count}-{secrets.token_hex(6)}"
        self.episodes[handle] = (domain, episode)
        out: dict[str, Any] = {"episode": handle, "domain": domain, "state": STATE_URI.format(episode=handle)}
        if task_id is not None:
            out["task_id"] = task_id
            out["user"] = opening(self.tasks[task_id])
        return out

    def _episode(self, arguments: dict[str, Any], tool: str) -> tuple[str, Episode]:
        handle = arguments.get("episode")
        if not isinstance(handle, str):
            raise CallError(f"{tool}: missing the 'episode' argument (the handle start_episode returned)")
        found = self.episodes.get(handle)
        if found is None:
            raise CallError(f"{tool}: no open episode {handle!r}")
        return found

    def score(self, arguments: dict[str, Any]) -> dict[str, Any]:
        _, episode = self._episode(arguments, "score_episode")
        if episode.task is None:
            raise CallError("score_episode: this episode plays no task (it was started from a domain or seed)")
        s: Score = episode.score()
        return {"reward": s.reward, "state_ok": s.state_ok, "calls_ok": s.calls_ok, "problems": s.problems}

    def end(self, arguments: dict[str, Any]) -> dict[str, Any]:
        handle, _ = arguments.get("episode"), self._episode(arguments, "end_episode")
        del self.episodes[handle]  # type: ignore[arg-type]
        return {"ended": handle}

    def call(self, name: str, arguments: Any) -> tuple[bool, str]:
        """(ok, text) of one tools/call."""
        if arguments is None:
            arguments = {}
        if not isinstance(arguments, dict):
            return False, "Error: arguments must be a JSON object"
        try:
            if name == "start_episode":
                return True, json.dumps(self.start(arguments), sort_keys=True)
            if name == "score_episode":
                return True, json.dumps(self.score(arguments), sort_keys=True)
            if name == "end_episode":
                return True, json.dumps(self.end(arguments), sort_keys=True)
            target = self.tools.get(name)
            if target is None:
                raise CallError(f"unknown tool {name!r}")
            domain, function = target
            episode_domain, episode = self._episode(arguments, name)
            if episode_domain != domain:
                raise CallError(f"{name}: episode {arguments['episode']!r} is in domain {episode_domain!r}")
        except CallError as e:
            return False, "Error: " + str(e)
        result = episode.call(function["name"], {k: v for k, v in arguments.items() if k != "episode"})
        return bool(result.ok), str(result.content)

    def read_state(self, uri: str) -> str:
        prefix, suffix = "envdsl://episodes/", "/state"
        handle = uri[len(prefix):-len(suffix)] if uri.startswith(prefix) and uri.endswith(suffix) else None
        if handle is None or handle not in self.episodes:
            raise CallError(f"no such resource {uri!r} (expected {STATE_URI} of an open episode)")
        return json.dumps(self.episodes[handle][1].env.state(), sort_keys=True, ensure_ascii=False)


def build_server(table: EpisodeTable) -> Any:
    """The MCP SDK's low-level server answering from `table`."""
    import mcp_types as types
    from mcp.server.lowlevel import Server
    from mcp.shared.exceptions import MCPError

    tools = [types.Tool.model_validate(t) for t in table.tool_descriptions()]

    async def list_tools(ctx: Any, params: Any) -> Any:
        return types.ListToolsResult(tools=tools)

    async def call_tool(ctx: Any, params: Any) -> Any:
        ok, text = table.call(params.name, params.arguments)
        return types.CallToolResult(content=[types.TextContent(type="text", text=text)], is_error=not ok)

    async def list_resources(ctx: Any, params: Any) -> Any:
        return types.ListResourcesResult(resources=[])  # episodes are private to whoever holds the handle

    async def list_templates(ctx: Any, params: Any) -> Any:
        return types.ListResourceTemplatesResult(resource_templates=[types.ResourceTemplate(
            name="episode_state", uri_template=STATE_URI, mime_type="application/json",
            description="The current state of an episode, as JSON")])

    async def read_resource(ctx: Any, params: Any) -> Any:
        try:
            text = table.read_state(str(params.uri))
        except CallError as e:
            raise MCPError(code=-32602, message=str(e)) from None
        return types.ReadResourceResult(contents=[types.TextResourceContents(
            uri=str(params.uri), mime_type="application/json", text=text)])

    names = "+".join(table.environments)
    return Server(f"envdsl-{names}", version="0.1.0",
                  instructions="Call start_episode first; pass its handle as `episode` to every other tool.",
                  on_list_tools=list_tools, on_call_tool=call_tool, on_list_resources=list_resources,
                  on_list_resource_templates=list_templates, on_read_resource=read_resource)


def serve(table: EpisodeTable, transport: str = "stdio", host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run until the client disconnects (stdio) or the process is stopped (http)."""
    import anyio

    server = build_server(table)
    if transport == "stdio":
        from mcp.server.stdio import stdio_server

        async def run_stdio() -> None:
            async with stdio_server() as (read_stream, write_stream):
                await server.run(read_stream, write_stream, server.create_initialization_options())

        anyio.run(run_stdio)
    elif transport == "http":
        import uvicorn

        app = server.streamable_http_app(host=host)
        uvicorn.run(app, host=host, port=port, log_level="warning")
    else:
        raise ValueError(f"unknown transport {transport!r}: stdio or http")
