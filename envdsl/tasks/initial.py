"""A task's initial state, made again wherever the task is played, judged or scored.

Tasks name their initial state instead of carrying it: {"kind": "seed"}, or {"kind": "generated",
"seed": k} (the runtime generator alone, as tasks sampled before realistic values recorded), or
{"kind": "generated", "seed": k, "values": "realistic"} (the generator with the realistic value hook,
the seed-pattern, ownership and person repairs of envdsl/tasks, as the sampler makes them now), and with
"user_state": "seed" added, that state with the user's side (a two-actor spec's `user state`: the router at
home) as the seed state has it: two-actor tasks start from a working home, then their set-up breaks it.
"""

from __future__ import annotations

import random
import threading
from collections import OrderedDict
from typing import Any

from envdsl.ir.actors import ActorView
from envdsl.ir.rules import PolicyRules
from envdsl.runtime.generate import GenerationError, generate_state
from envdsl.runtime.store import clone
from envdsl.tasks.consistency import ownership_repair
from envdsl.tasks.persons import person_repair
from envdsl.tasks.realism import RealisticValues
from envdsl.tasks.seed_patterns import seed_pattern_repair

REALISTIC = "realistic"
SEED = "seed"
_hooks: dict[type, tuple[RealisticValues, dict[str, Any]]] = {}  # the value hook and the seed state
# the states made last (bounded: a run with a state per task would otherwise keep every one of them)
_states: OrderedDict[tuple[type, int], dict[str, Any]] = OrderedDict()
_STATES_KEPT = 512
# one realistic-value hook per domain re-seeds its Faker before every value: two threads generating at
# once (rollouts play conversations in threads) would interleave seeds and draws and make another state
_lock = threading.Lock()


def realistic_state(env_cls: type, seed: int, *, seed_user_state: bool = False) -> dict[str, Any]:
    """The realistic generated state for a generator seed (GenerationError, naming the rule, if none); with
    `seed_user_state`, the spec's `user state` fields as the seed state has them (a two-actor task's home)."""
    with _lock:
        if (env_cls, seed) not in _states:
            if env_cls not in _hooks:
                seeded = env_cls()
                seeded.reset()
                _hooks[env_cls] = (RealisticValues(seeded.state()), seeded.state())
            values, seed_state = _hooks[env_cls]
            rules = PolicyRules.from_ir(env_cls.ir())  # type: ignore[attr-defined]
            shaped = seed_pattern_repair(seed_state, env_cls.ir(), rules)  # type: ignore[attr-defined]
            owners, persons = ownership_repair(rules), person_repair(seed_state, rules)

            def repair(state: dict[str, Any], rng: Any) -> None:
                shaped(state, rng)  # the seed's patterns first, then who owns what, then what an owner's
                owners(state, rng)  # records share with them
                persons(state, rng)

            _states[(env_cls, seed)] = generate_state(env_cls, seed, values=values, repair=repair)
            if len(_states) > _STATES_KEPT:
                _states.popitem(last=False)
        _states.move_to_end((env_cls, seed))
        state = clone(_states[(env_cls, seed)])
        if seed_user_state:
            seed_state = _hooks[env_cls][1]
            for name in ActorView.from_ir(env_cls.ir()).user_state:  # type: ignore[attr-defined]
                if name in seed_state:
                    state[name] = clone(seed_state[name])
        return state


class InitialStates:
    """Where a sampler's tasks start: the seed state, or one of `count` generated realistic states (mode
    "generated"; "mixed" draws either, half and half), chosen with the sampler's own random stream. The states
    come from realistic_state's cache; a generator seed whose state cannot be made is remembered with the reason,
    so it is not tried again."""

    def __init__(self, env: Any, mode: str, count: int, rng: random.Random, *, seed_user_state: bool = False):
        self.env, self.mode, self.count, self.rng = env, mode, count, rng
        self.seed_user_state = seed_user_state  # the user's side of a generated state as the seed has it
        self.generation_errors: dict[int, str] = {}  # generator seed -> the rule its states kept breaking

    def reset(self) -> dict[str, Any] | None:
        """Put the next task's initial state in `env` and return how a task names it; None when the mode is
        "generated" and the drawn seed has no state (the caller rejects the task)."""
        if self.mode == "generated" or (self.mode == "mixed" and self.rng.random() < 0.5):
            k = self.rng.randrange(self.count)
            state = self.generated(k)
            if state is not None:
                self.env.reset(state=state)
                if self.seed_user_state:
                    return {"kind": "generated", "seed": k, "values": REALISTIC, "user_state": SEED}
                return {"kind": "generated", "seed": k, "values": REALISTIC}
            if self.mode == "generated":
                return None
        self.env.reset()
        return {"kind": "seed"}

    def generated(self, k: int) -> dict[str, Any] | None:
        """Generator seed k's realistic state (a copy); None, with the reason in generation_errors, when no state
        can be made."""
        if k in self.generation_errors:
            return None
        try:
            return realistic_state(type(self.env), k, seed_user_state=self.seed_user_state)
        except GenerationError as e:
            self.generation_errors[k] = str(e)
            return None


def reset_to_initial(env: Any, initial: dict[str, Any] | None) -> None:
    """Put a task's initial state in place in `env`."""
    initial = initial or {"kind": "seed"}
    if initial.get("kind") != "generated":
        env.reset()
    elif initial.get("values") == REALISTIC:
        env.reset(state=realistic_state(type(env), int(initial["seed"]),
                                        seed_user_state=initial.get("user_state") == SEED))
    else:
        env.reset(seed=initial["seed"])

