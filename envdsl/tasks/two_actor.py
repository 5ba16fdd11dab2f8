"""Tasks for two-actor domains: something on the user's side (or the provider's) is broken by set-up
calls, an assertion says so, and the fix needs the user to act when the agent asks.

A task is found by search, executed, never written by hand:
1. pick a user of the rules' user collection, and their entities (those that name the user's key, or that
   the user's record lists);
2. initialisation: one to three calls of `env fn`s that write (set-up), their arguments bound to the user's
   entities (a parameter named like a collection's key), an enum's members, or small numbers;
3. an assertion: an `env fn` that reads and returns bool, false after the set-up;
4. the fix: the shortest sequence (at most MAX_FIX calls) of agent write tools and user write tools, with
   arguments bound the same way, that makes the assertion true; kept only when a user tool is in it;
5. the agent's calls: identification (the rules' identify tool), a read of the user's record, a read of the
   entity the set-up touched, then the fix's agent calls; the user's calls come in their place among them.

The task carries, beside the usual fields (docs/tasks.md), `init_actions` (`{"name", "arguments", "actor":
"env"}`), `user_actions` (`{"name", "arguments", "ok", "after"}`: the user makes it once the agent has made
`after` of its gold calls) and `assertions` (`{"name", "arguments", "expect"}`), and its gold state is the
state after all of them. Deterministic for (environment, seed).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from typing import Any

from envdsl.ir.actors import ActorView
from envdsl.ir.rules import PolicyRules
from envdsl.runtime.diff import state_diff
from envdsl.runtime.store import clone
from envdsl.tasks.initial import InitialStates

MAX_FIX = 2
MAX_INIT = 3
NUMBERS = (0, 25)


class TwoActorSampler:
    def __init__(self, env: Any, seed: int, spec: str | None = None, initial: str = "seed",
                 generated_states: int = 8):
        self.env = env
        self.cls = type(env)
        self.ir = self.cls.ir()
        self.view = ActorView.from_ir(self.ir)
        self.rules = PolicyRules.from_ir(self.ir)
        self.rng = random.Random(f"two-actor:{seed}:{self.cls.DOMAIN}")
        self.spec = spec
        self.domain = self.cls.DOMAIN
        self.key_of = {s["key"]: s["name"] for s in self.ir["state"] if s["kind"] == "collection"}
        self.enums = {e["name"]: e["members"] for e in self.ir["enums"]}
        self.functions = {f["name"]: f for f in self.ir["functions"]}
        self.rejections: dict[str, int] = {}
        # the same choice of initial states as the one-actor tasks of the domain (`envdsl tasks --initial`); a
        # generated state's random user side (a frozen router on no line) would leave nothing that works to break
        self.initial_states = InitialStates(env, initial, generated_states, self.rng, seed_user_state=True)
        self._initial: dict[str, Any] = {"kind": "seed"}
        self._start: dict[str, Any] = {}

    @property
    def usable(self) -> bool:
        """A user side, a user collection to identify, set-up fns and bool assertions."""
        return bool(self.view.user_tools and self.rules.user is not None and self._setups_exist()
                    and self._assertion_names())

    def _setups_exist(self) -> bool:
        return any(spec.effect == "write" for spec in self.cls.ENV_FUNCTIONS.values())

    def _assertion_names(self) -> list[str]:
        return [n for n, spec in self.cls.ENV_FUNCTIONS.items()
                if spec.effect == "read" and spec.returns.get("k") == "bool"]

    # ---- sampling
    def sample(self, n: int) -> list[dict[str, Any]]:
        if not self.usable or n <= 0:
            return []
        assert self.rules.user is not None
        seen: set[str] = set()
        tasks: list[dict[str, Any]] = []
        for _ in range(n * 40):
            if len(tasks) >= n:
                break
            initial = self.initial_states.reset()
            if initial is None:
                self._reject("generator_failed")
                continue
            self._initial, self._start = initial, self.env.state()
            users = sorted(self._start[self.rules.user.collection])
            if not users:
                self._reject("no_users")
                continue
            user = self.rng.choice(users)
            task = self._one(user)
            if task is None or task["task_id"] in seen:
                if task is not None:
                    self._reject("duplicate")
                continue
            seen.add(task["task_id"])
            tasks.append(task)
        return tasks

    def _restart(self) -> None:
        """Back to the initial state of the task being made."""
        if self._initial["kind"] == "seed":
            self.env.reset()
        else:
            self.env.reset(state=clone(self._start))

    def _reject(self, reason: str) -> None:
        self.rejections[reason] = self.rejections.get(reason, 0) + 1

    def _one(self, user: str) -> dict[str, Any] | None:
        env = self.env
        self._restart()
        initial_hash = env.state_hash()
        owned = self._owned(env.state(), user)
        setups = self._bound_calls(sorted(n for n, s in self.cls.ENV_FUNCTIONS.items() if s.effect == "write"),
                                   self.cls.ENV_FUNCTIONS, owned)
        if not setups:
            self._reject("no_setup")
            return None
        assertions = self._bound_calls(self._assertion_names(), self.cls.ENV_FUNCTIONS, owned)
        # first a working set-up (the customer's router on their line: an assertion holds), then what breaks it
        healthy: list[tuple[tuple[str, dict[str, Any]] | None, tuple[str, dict[str, Any]]]] = []
        for base in [None, *setups]:
            self._restart()
            if base is not None and not self._changes(base):
                continue
            holds = [a for a in assertions if env.call_function(*a).value is True]
            healthy.extend((base, a) for a in holds)
        if not healthy:
            self._reject("nothing_holds")
            return None
        base, assertion = self.rng.choice(healthy)
        self._restart()
        init = []
        if base is not None:
            self._changes(base)
            init.append(base)
        breaks = [s for s in setups if s[0] not in {n for n, _ in init}]
        for name, args in self.rng.sample(breaks, k=min(len(breaks), self.rng.randint(1, MAX_INIT - len(init)))):
            if any(name == n for n, _ in init):
                continue  # one call of each set-up fn: a second would only overwrite the first
            if self._changes((name, args)):  # a set-up call that changes nothing is left out
                init.append((name, args))
        if env.call_function(*assertion).value is not False:
            self._reject("nothing_broken")
            return None
        after_init = env.state()
        fix = self._fix(after_init, assertion, owned)
        if fix is None:
            self._reject("no_fix_with_user")
            return None
        return self._task(user, owned, initial_hash, init, assertion, fix)

    def _fix(self, start: dict[str, Any], assertion: tuple[str, dict[str, Any]],
             owned: dict[str, list[Any]]) -> list[tuple[str, str, dict[str, Any]]] | None:
        """The shortest sequence of write calls (agent's and user's) that makes the assertion true, with at
        least one user call; None when there is none within MAX_FIX calls."""
        moves = [("agent", n, a) for n, a in self._bound_calls(
            [t for t in self.view.agent_tools if self.cls.TOOLS[t].effect == "write"
             and t not in self.rules.transfer], self.cls.TOOLS, owned)]
        moves += [("user", n, a) for n, a in self._bound_calls(
            [t for t in self.view.user_tools if self.cls.USER_TOOLS[t].effect == "write"], self.cls.USER_TOOLS,
            owned)]
        for length in range(1, MAX_FIX + 1):
            for seq in itertools.permutations(moves, length):
                if not any(actor == "user" for actor, _, _ in seq):
                    continue
                if self._meets(start, seq, assertion) and \
                        not self._meets(start, [m for m in seq if m[0] != "user"], assertion):
                    return list(seq)  # and without the user's calls it would not do: the user must act
        return None

    def _changes(self, call: tuple[str, dict[str, Any]]) -> bool:
        """Run one set-up call; True when it succeeded and changed the state."""
        before = self.env.state_hash()
        return bool(self.env.call_function(*call).ok and self.env.state_hash() != before)

    def _meets(self, start: dict[str, Any], seq: Any, assertion: tuple[str, dict[str, Any]]) -> bool:
        env = self.env
        env.reset(state=start)
        return all(env.call(name, args, actor=actor).ok for actor, name, args in seq) and \
            env.call_function(*assertion).value is True

    # ---- the task record
    def _task(self, user: str, owned: dict[str, list[Any]], initial_hash: str, init: list[tuple[str, dict[str, Any]]],
              assertion: tuple[str, dict[str, Any]], fix: list[tuple[str, str, dict[str, Any]]]
              ) -> dict[str, Any] | None:
        assert self.rules.user is not None
        env = self.env
        self._restart()
        before = env.state()
        for name, args in init:
            env.call_function(name, args)
        record = env.state()[self.rules.user.collection][user]
        agent_plan: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        identify = self._identification(record, user)
        if identify is None:
            self._reject("no_identification")
            return None
        agent_plan.append(identify)
        look = self._lookups(user, init, fix)
        agent_plan.extend(look)
        gold_calls: list[dict[str, Any]] = []
        user_actions: list[dict[str, Any]] = []
        for name, args, extra in agent_plan:
            result = env.call(name, args)
            if not result.ok:
                self._reject("lookup_failed")
                return None
            gold_calls.append({"name": name, "arguments": json.dumps(args, ensure_ascii=False), "ok": True,
                               "output": result.content, **extra})
        # before the fix, the agent asks the user to look at something on their side (a user read tool without
        # parameters, such as the router's light): what a troubleshooter does first
        looks = [t for t in self.view.user_tools if self.cls.USER_TOOLS[t].effect == "read"
                 and not self.cls.USER_TOOLS[t].params]
        if looks:
            look_at = self.rng.choice(looks)
            result = env.call(look_at, {}, actor="user")
            if result.ok:
                user_actions.append({"name": look_at, "arguments": "{}", "ok": True, "output": result.content,
                                     "after": len(gold_calls)})
        for actor, name, args in fix:
            result = env.call(name, args, actor=actor)
            if not result.ok:
                self._reject("fix_failed")
                return None
            if actor == "user":
                user_actions.append({"name": name, "arguments": json.dumps(args, ensure_ascii=False), "ok": True,
                                     "output": result.content, "after": len(gold_calls)})
            else:
                call = {"name": name, "arguments": json.dumps(args, ensure_ascii=False), "ok": True,
                        "output": result.content}
                if name in self.rules.confirm:
                    call["confirm"] = True
                gold_calls.append(call)
        if env.call_function(*assertion).value is not True:
            self._reject("assertion_not_met")
            return None
        after = env.state()
        identity_args = json.loads(gold_calls[0]["arguments"])
        facts = [{"key": k, "param": k, "value": v, "description": "", "tool": gold_calls[0]["name"], "step": 0,
                  "identity": True} for k, v in identity_args.items()]
        task: dict[str, Any] = {
            "domain": self.domain, "spec": self.spec, "initial": self._initial,
            "initial_state_hash": initial_hash,
            "init_actions": [{"name": n, "arguments": a, "actor": "env"} for n, a in init],
            "gold_calls": gold_calls, "user_actions": user_actions,
            "assertions": [{"name": assertion[0], "arguments": assertion[1], "expect": True}],
            "gold_state_hash": env.state_hash(), "gold_diff": state_diff(before, after), "user_facts": facts,
            "read_only": False, "writes": sum(1 for a, n, _ in fix), "has_failure": False, "user": user,
        }
        basis = {"init": task["init_actions"], "calls": [(c["name"], c["arguments"]) for c in gold_calls],
                 "user": [(c["name"], c["arguments"], c["after"]) for c in user_actions], "assert": task["assertions"]}
        if self._initial["kind"] != "seed":  # the same calls on another generated state are another task
            basis["initial"] = self._initial
        digest = hashlib.sha256(json.dumps(basis, sort_keys=True).encode()).hexdigest()[:12]
        task["task_id"] = f"{self.domain}-u-{digest}"
        task["goal"] = self._goal(assertion)
        return dict(sorted(task.items()))

    def _goal(self, assertion: tuple[str, dict[str, Any]]) -> str:
        text = self.functions[assertion[0]].get("description") or assertion[0].replace("_", " ")
        text = text.split(":", 1)[1].strip() if text.lower().startswith("assertion:") else text
        text = text.rstrip(".").replace("the customer's ", "your ").replace("The customer's ", "your ")
        return (f"You want to get help: it is not true now that {text[:1].lower() + text[1:]}. "
                f"You know your {', '.join(self._identity_params())}. "
                "When the agent asks you to do something at home, you do it and say what you see.")

    def _identity_params(self) -> list[str]:
        assert self.rules.user is not None
        return [p["name"].replace("_", " ") for t in self.rules.user.identify[:1] for p in self.cls.TOOLS[t].params]

    def _identification(self, record: dict[str, Any], user: str) -> tuple[str, dict[str, Any], dict[str, Any]] | None:
        assert self.rules.user is not None
        for name in self.rules.user.identify:
            args = {}
            for p in self.cls.TOOLS[name].params:
                if p["name"] in record and isinstance(record[p["name"]], (str, int)):
                    args[p["name"]] = record[p["name"]]
                elif "default" not in p:
                    break
            else:
                result = self.env.call(name, args)
                if result.ok and user in result.content:
                    return name, args, {"identifies": True}
        return None

    def _lookups(self, user: str, init: list[tuple[str, dict[str, Any]]],
                 fix: list[tuple[str, str, dict[str, Any]]]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """Reads a careful agent makes before acting: the user's record (its result names their entities), then
        each entity the set-up or the fix names, with a read tool keyed by it."""
        assert self.rules.user is not None
        reads = [t for t in self.view.agent_tools if self.cls.TOOLS[t].effect == "read"
                 and t not in self.rules.user.identify and t not in self.rules.transfer]
        out: list[tuple[str, dict[str, Any], dict[str, Any]]] = []
        user_read = next((t for t in reads if [p["name"] for p in self.cls.TOOLS[t].params] == [self.rules.user.key]),
                         None)
        if user_read is None:
            return out
        out.append((user_read, {self.rules.user.key: user}, {}))
        named = []
        for args in [a for _, a in init] + [a for _, _, a in fix]:
            for k, v in sorted(args.items()):
                if k in self.key_of and k != self.rules.user.key and (k, v) not in named:
                    named.append((k, v))
        for key, value in named:
            tool = next((t for t in reads if [p["name"] for p in self.cls.TOOLS[t].params] == [key]), None)
            if tool is not None:
                out.append((tool, {key: value}, {}))
        return out

    # ---- arguments
    def _owned(self, state: dict[str, Any], user: str) -> dict[str, list[Any]]:
        """Key field name -> the keys of the user's entities in that collection (the user's own key included)."""
        assert self.rules.user is not None
        out: dict[str, list[Any]] = {self.rules.user.key: [user]}
        record = state[self.rules.user.collection][user]
        for key_field, coll in sorted(self.key_of.items()):
            if coll == self.rules.user.collection:
                continue
            keys = [k for k, e in state[coll].items()
                    if isinstance(e, dict) and any(v == user for f, v in e.items() if f == self.rules.user.key)]
            keys += [k for v in record.values() if isinstance(v, list) for k in v if k in state[coll]]
            if keys:
                out[key_field] = sorted(set(keys), key=str)
        return out

    def _bound_calls(self, names: list[str], table: dict[str, Any], owned: dict[str, list[Any]]
                     ) -> list[tuple[str, dict[str, Any]]]:
        """Every call of the named tools or fns whose arguments can all be bound; in a stable order."""
        out = []
        for name in names:
            choices = []
            for p in table[name].params:
                values = self._values(p, owned)
                if values is None:
                    break
                choices.append([(p["name"], v) for v in values])
            else:
                for combo in itertools.product(*choices):
                    out.append((name, dict(combo)))
        return out

    def _values(self, p: dict[str, Any], owned: dict[str, list[Any]]) -> list[Any] | None:
        t = p["type"]["of"] if p["type"]["k"] == "opt" else p["type"]
        if p["name"] in owned:
            return owned[p["name"]]
        if t["k"] == "ref" and t["coll"] in self.key_of.values():
            key = next(k for k, c in self.key_of.items() if c == t["coll"])
            return owned.get(key)
        if t["k"] == "enum":
            return list(self.enums[t["name"]])
        if t["k"] == "bool":
            return [True, False]
        if t["k"] in ("int", "float"):
            return [float(n) if t["k"] == "float" else n for n in NUMBERS]
        return None
