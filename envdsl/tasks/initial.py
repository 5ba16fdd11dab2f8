"""A task's initial state, made again wherever the task is played, judged or scored.

Tasks name their initial state instead of carrying it: {"kind": "seed"}, or {"kind": "generated",
"seed": k} (the runtime generator alone, as tasks sampled before realistic values recorded), or
{"kind": "generated", "seed": k, "values": "realistic"} (the generator with the realistic value hook,
the seed-pattern, ownership and person repairs of envdsl/tasks, as the sampler makes them now).
"""

from __future__ import annotations

import threading
from typing import Any

from envdsl.ir.rules import PolicyRules
from envdsl.runtime.generate import generate_state
from envdsl.runtime.store import clone
from envdsl.tasks.consistency import ownership_repair
from envdsl.tasks.persons import person_repair
from envdsl.tasks.realism import RealisticValues
from envdsl.tasks.seed_patterns import seed_pattern_repair

REALISTIC = "realistic"
_hooks: dict[type, tuple[RealisticValues, dict[str, Any]]] = {}  # the value hook and the seed state
_states: dict[tuple[type, int], dict[str, Any]] = {}
# one realistic-value hook per domain re-seeds its Faker before every value: two threads generating at
# once (rollouts play conversations in threads) would interleave seeds and draws and make another state
_lock = threading.Lock()


def realistic_state(env_cls: type, seed: int) -> dict[str, Any]:
    """The realistic generated state for a generator seed (GenerationError, naming the rule, if none)."""
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
        return clone(_states[(env_cls, seed)])


def reset_to_initial(env: Any, initial: dict[str, Any] | None) -> None:
    """Put a task's initial state in place in `env`."""
    initial = initial or {"kind": "seed"}
    if initial.get("kind") != "generated":
        env.reset()
    elif initial.get("values") == REALISTIC:
        env.reset(state=realistic_state(type(env), int(initial["seed"])))
    else:
        env.reset(seed=initial["seed"])
