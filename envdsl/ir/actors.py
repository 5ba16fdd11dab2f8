"""Who may call what in a domain: the typed view of the IR's actor information.

A domain has an agent side and, in dual-control domains (tau2-bench's telecom, a help desk where the
customer reboots their own router), a user side. The checker writes, in the IR (docs/ir.md):

    tools[i]["actor"]: "agent" | "user"          state[i]["actor"]: "agent" | "user"
    functions[i]["env"]: true  (an `env fn`: task set-up, assertions, hooks; never a tool)
    hooks: [{"name", "description", "params": [], "returns", "body", "line", "writes"}]
    shared: [state field]      (fields both actors' tools may write)

`ActorView.from_ir` reads it (IR written before actors existed reads as one agent and no user);
`to_json`/`from_json` carry the view itself, for task files and reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Actor = Literal["agent", "user"]
ACTORS: tuple[Actor, ...] = ("agent", "user")


@dataclass(frozen=True)
class ActorView:
    agent_tools: tuple[str, ...] = ()
    user_tools: tuple[str, ...] = ()
    agent_state: tuple[str, ...] = ()
    user_state: tuple[str, ...] = ()
    env_functions: tuple[str, ...] = ()
    hooks: tuple[str, ...] = ()
    shared: tuple[str, ...] = ()

    def tools(self, actor: str) -> tuple[str, ...]:
        return self.agent_tools if _actor(actor) == "agent" else self.user_tools

    def state(self, actor: str) -> tuple[str, ...]:
        return self.agent_state if _actor(actor) == "agent" else self.user_state

    def actor_of_tool(self, name: str) -> Actor | None:
        if name in self.agent_tools:
            return "agent"
        if name in self.user_tools:
            return "user"
        return None

    @property
    def two_actors(self) -> bool:
        """Does the domain have a user side at all (state or tools of the user)?"""
        return bool(self.user_tools or self.user_state)

    @classmethod
    def from_ir(cls, ir: dict[str, Any]) -> "ActorView":
        def of(items: list[dict[str, Any]], actor: str) -> tuple[str, ...]:
            return tuple(x["name"] for x in items if x.get("actor", "agent") == actor)

        return cls(agent_tools=of(ir.get("tools", []), "agent"), user_tools=of(ir.get("tools", []), "user"),
                   agent_state=of(ir.get("state", []), "agent"), user_state=of(ir.get("state", []), "user"),
                   env_functions=tuple(f["name"] for f in ir.get("functions", []) if f.get("env")),
                   hooks=tuple(h["name"] for h in ir.get("hooks", [])), shared=tuple(ir.get("shared", [])))

    def to_json(self) -> dict[str, Any]:
        return {"agent_tools": list(self.agent_tools), "user_tools": list(self.user_tools),
                "agent_state": list(self.agent_state), "user_state": list(self.user_state),
                "env_functions": list(self.env_functions), "hooks": list(self.hooks), "shared": list(self.shared)}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "ActorView":
        return cls(**{k: tuple(data.get(k, [])) for k in ("agent_tools", "user_tools", "agent_state",
                                                           "user_state", "env_functions", "hooks", "shared")})


def _actor(actor: str) -> Actor:
    if actor not in ACTORS:
        raise ValueError(f"unknown actor {actor!r}: agent or user")
    return actor  # type: ignore[return-value]
