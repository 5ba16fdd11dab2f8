"""What the gate knows about one compiled domain: its class, IR, seed state and derived tables."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from envdsl.proptest.keyflow import key_params
from envdsl.runtime.store import Db, clone

LARGE_SEED_BYTES = 200_000


@dataclass
class Domain:
    name: str
    env_cls: Any
    source: str  # the spec or package it came from, for reports
    ir: dict[str, Any] = field(init=False)
    seed_state: dict[str, Any] = field(init=False)
    key_params: dict[str, dict[str, str]] = field(init=False)
    tool_schemas: dict[str, dict[str, Any]] = field(init=False)
    large_seed: bool = field(init=False)
    _generated: dict[int, dict[str, Any] | None] = field(init=False, default_factory=dict)

    def __post_init__(self) -> None:
        self.env_cls = both_actors(self.env_cls)
        self.ir = self.env_cls.ir()
        self.seed_state = self.env_cls().state()
        # a big seed (tau2's databases are megabytes) makes every clone and validation slow: calls
        # then start from small generated states, and from the seed only if none can be generated
        self.large_seed = len(json.dumps(self.seed_state)) > LARGE_SEED_BYTES
        self.key_params = key_params(self.ir)
        self.tool_schemas = {s["function"]["name"]: s for s in self.env_cls.SCHEMAS}

    @property
    def tools(self) -> list[str]:
        return list(self.env_cls.TOOLS)

    def new_env(self) -> Any:
        return self.env_cls()

    def generated_state(self, seed: int) -> dict[str, Any] | None:
        """A state from the runtime's generator (None if it cannot make one); cached, as
        hypothesis draws the same small seeds again while shrinking."""
        from envdsl.runtime.generate import generate_state

        if seed not in self._generated:
            try:
                state = generate_state(self.env_cls, seed)
                env = self.env_cls(state=state)  # normalised, as reset(state=...) would keep it
                self._generated[seed] = env.state()
            except Exception:  # noqa: BLE001 - reported once by the generator check, not per example
                self._generated[seed] = None
        got = self._generated[seed]
        return None if got is None else clone(got)

    def state_problems(self, state: dict[str, Any]) -> list[str]:
        """Schema, key and reference errors, then failed invariants: empty for a valid state."""
        errors = list(self.env_cls.state_errors(state))
        if errors:
            return errors
        return [f"invariant failed: {d}" for d in invariant_failures(self.env_cls, state)]


def both_actors(env_cls: Any) -> Any:
    """The environment class the gate tests: in a two-actor domain, one whose TOOLS are the agent's and
    the user's together (each call still runs as its own actor's, hooks included), so that every property
    covers the user's tools too. A one-actor class is returned as it is."""
    if not env_cls.USER_TOOLS:
        return env_cls
    user_tools = env_cls.USER_TOOLS

    def call(self: Any, name: str, arguments: Any = None, *, actor: str | None = None) -> Any:
        who = actor or ("user" if isinstance(name, str) and name in user_tools else "agent")
        return env_cls.call(self, name, arguments, actor=who)

    def tools_of(cls: Any, actor: str) -> dict[str, Any]:
        return {**env_cls.TOOLS, **user_tools} if actor == "agent" else env_cls.tools_of(actor)

    gate = type(env_cls.__name__, (env_cls,), {
        "__module__": env_cls.__module__,  # the package folder: ir.json and the seed are found beside it
        "TOOLS": {**env_cls.TOOLS, **user_tools}, "SCHEMAS": env_cls.SCHEMAS + env_cls.USER_SCHEMAS,
        "call": call, "tools_of": classmethod(tools_of)})
    return gate


def invariant_failures(env_cls: Any, state: dict[str, Any]) -> list[str]:
    out = []
    for description, check in env_cls.INVARIANTS:
        try:
            ok = check(Db(state))
        except Exception as e:  # noqa: BLE001 - an invariant that cannot be evaluated is violated
            out.append(f"{description} (raised {type(e).__name__}: {e})")
            continue
        if not ok:
            out.append(description)
    return out
