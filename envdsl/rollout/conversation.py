"""One simulated conversation: user and agent take turns; the agent's tool calls run on the environment."""

from __future__ import annotations

from typing import Any

from envdsl.llm.base import BackendUnavailable
from envdsl.rollout.two_actor import assertion_results, is_two_actor, run_init_actions
from envdsl.rollout.users import STOP
from envdsl.tasks.initial import reset_to_initial


class StaleTask(ValueError):
    pass


def system_prompt(env: Any) -> str:
    env_cls = type(env)
    policy = (env_cls.POLICY or "").strip()
    head = f"You are a helpful assistant for the {env_cls.DOMAIN} domain"
    head += f" ({env_cls.DESCRIPTION})." if env_cls.DESCRIPTION else "."
    return head + " Use the tools to act; follow the policy.\n\n# Policy\n" + (policy or "(none)")


def run_conversation(env: Any, task: dict[str, Any], agent: Any, user: Any, *, max_turns: int = 30) -> dict[str, Any]:
    """Play a task from its initial state to the user's STOP (or max_turns agent turns).

    Returns the messages, the calls the agent made (name, JSON-string arguments, ok), the final
    state hash and why it ended: "user_stop", "max_turns" or "agent_error" (the backend failed)."""
    initial = task.get("initial") or {"kind": "seed"}
    reset_to_initial(env, initial)  # a generated state made again as the sampler made it
    if task.get("initial_state_hash") and env.state_hash() != task["initial_state_hash"]:
        # the spec (or its seed data) changed since the task was sampled: its gold state means nothing now
        raise StaleTask(f"{task['task_id']}: the initial state differs from the one the task was sampled on")
    two_actor = is_two_actor(task)
    if two_actor:  # the task's set-up, then the user gets their own tools (the agent never does)
        run_init_actions(env, task)
        bind = getattr(user, "bind_environment", None)
        if bind is not None:
            bind(env)
    tools = env.tool_schemas()
    messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt(env)},
                                      {"role": "user", "content": user.opening()}]
    calls: list[dict[str, Any]] = []
    agent_errors: list[str] = []  # the agent's own mistakes (not transport faults): judged by the filters
    ended, error = "max_turns", None
    for _ in range(max_turns):
        try:
            reply = agent.respond(messages, tools)
        except BackendUnavailable:  # not the agent's failure: the run stops (see runner.run_rollouts)
            raise
        except Exception as e:  # a backend that gave up: record the conversation so far, never crash the run
            ended, error = "agent_error", f"{type(e).__name__}: {e}"
            break
        messages.append(reply)
        if not reply.get("tool_calls") and not (reply.get("content") or "").strip():
            # the model's own mistake, not a transport fault: recorded for the filters, and the user answers
            # it as a person would (the conversation goes on, so the transcript shows what happened)
            agent_errors.append("empty_reply")
        if reply.get("tool_calls"):
            for call in reply["tool_calls"]:
                fn = call["function"]
                if not fn.get("name"):
                    agent_errors.append("nameless_call")
                    calls.append({"name": "", "arguments": fn.get("arguments") or "", "ok": False})
                    messages.append({"role": "tool", "tool_call_id": call["id"], "name": "",
                                     "content": "Error: the tool call has no name"})
                    continue
                result = env.call(fn["name"], fn["arguments"])
                calls.append({"name": fn["name"], "arguments": fn["arguments"], "ok": result.ok})
                messages.append({"role": "tool", "tool_call_id": call["id"], "name": fn["name"],
                                 "content": result.content})
            continue
        try:
            said = user.respond(messages)
        except BackendUnavailable:
            raise
        except Exception as e:
            ended, error = "user_error", f"{type(e).__name__}: {e}"
            break
        messages.append({"role": "user", "content": said})
        if STOP in said:
            ended = "user_stop"
            break
    record = {"task_id": task["task_id"], "domain": task["domain"], "messages": messages, "tools": tools,
              "agent_calls": calls, "final_state_hash": env.state_hash(), "ended": ended, "error": error,
              "agent_errors": agent_errors}
    if two_actor:
        record["user_calls"] = list(getattr(user, "user_calls", []))
        record["assertions"] = assertion_results(env, task)
    return record
