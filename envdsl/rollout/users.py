"""Simulated users: a scripted one that states its facts when asked, and an LLM-played one.

Both answer `opening() -> str` and `respond(messages) -> str`; a reply containing STOP ends
the conversation (tau2-bench's convention)."""

from __future__ import annotations

import json
import re
from typing import Any

from envdsl.rollout.speech import human, mentions, plural, say
from envdsl.rollout.two_actor import UserSide, user_tool_call_reply
from envdsl.tasks.goals import first_person

STOP = "###STOP###"


def opening_from_goal(goal: str) -> str:
    """The goal in the first person, without the sentence about what the user knows."""
    return "Hi! " + first_person(re.sub(r"\s*You know your .*$", "", goal.strip()))


CONFIRMATION = re.compile(r"shall i (go ahead|proceed)|should i (go ahead|proceed)|\(yes/no\)"
                          r"|do you (want me to|confirm)|would you like me to (go ahead|proceed)"
                          r"|can i (go ahead|proceed)|is that correct\?", re.I)
CANNOT = re.compile(r"\b(i can(no|')t|i am (not able|unable)|i'm (not able|unable)|transferr?(ed|ing) you)\b", re.I)


class ScriptedUser:
    """Answers like a person with a goal: each fact the agent asks for in a sentence of its own (matched
    by parameter name), one value per question; "I don't know" to a question about anything else; yes to
    a confirmation while the goal is unfinished. A fact with `wrong_first` is first given wrongly, as
    users do, and correctly when asked again. Ends the conversation when the agent closes ("anything
    else?") or cannot help."""

    def __init__(self, task: dict[str, Any]):
        self.task = task
        self.given: dict[int, int] = {}  # fact index -> times stated
        self.side = UserSide(task)  # the user's own tools, in a two-actor domain

    def bind_environment(self, env: Any) -> None:
        self.side.bind(env)

    @property
    def user_calls(self) -> list[dict[str, Any]]:
        return self.side.calls

    def opening(self) -> str:
        return opening_from_goal(self.task["goal"])

    def respond(self, messages: list[dict[str, Any]]) -> str:
        text = messages[-1].get("content") or ""
        did = self.side.act_on(text)  # the agent asked the user to do something with their own tools
        if did is not None:
            return did
        if "anything else" in text.lower():  # the agent is done (its summary may quote field names)
            return f"No, that's all. Thank you! {STOP}"
        if CANNOT.search(text):
            return f"I see. Thank you anyway. {STOP}"
        if CONFIRMATION.search(text):
            if self._unfinished(messages):
                return "Yes, please go ahead."
            return f"No, thank you, that is all I wanted. {STOP}"
        facts = self.task["user_facts"]
        asked = _asked(text, facts)
        if not asked:
            if "?" in text:
                return "I'm sorry, I don't know that."
            return f"Okay, thank you. {STOP}"  # a statement that asks nothing: the agent is done with me
        # of several facts for one parameter, state the one not yet (fully) stated: one value per question
        sentences = []
        answered: set[str] = set()
        for i in sorted(asked, key=lambda i: (self.given.get(i, 0) > ("wrong_first" in facts[i]), i)):
            f = facts[i]
            if f["param"] in answered:
                continue
            answered.add(f["param"])
            n = self.given.get(i, 0)
            value = f["wrong_first"] if ("wrong_first" in f and n == 0) else f["value"]
            self.given[i] = n + 1
            sentences.append(_sentence(f["param"], value, mine=bool(f.get("identity"))))
        return " ".join(sentences)

    def _unfinished(self, messages: list[dict[str, Any]]) -> bool:
        """Whether a change the goal needs has not been made yet (judged from the calls in the transcript)."""
        wanted = [(c["name"], _canonical(c["arguments"]))
                  for c in self.task["gold_calls"] if c["ok"] and c.get("confirm")]
        if not wanted:
            return True
        made = [(c["function"]["name"], _canonical(c["function"]["arguments"]))
                for m in messages if m["role"] == "assistant" for c in m.get("tool_calls") or []]
        return any(wanted.count(w) > made.count(w) for w in set(wanted))  # the same change may be wanted twice


def _asked(text: str, facts: list[dict[str, Any]]) -> list[int]:
    """The facts a message asks for. A longer spoken name wins over one inside it: "date of birth" is not
    also a question about "date"."""
    low = text.lower()
    # "To switch a device on or off, could you tell me the device id?": the question is what follows
    # "could you tell me", not the words about the action before it
    low = re.split(r"could you (?:tell|give) me", low, maxsplit=1)[-1]
    out = []
    for spoken in sorted({human(f["param"]).lower() for f in facts}, key=lambda s: (-len(s), s)):
        same = [i for i, f in enumerate(facts) if human(f["param"]).lower() == spoken]
        if mentions(low, facts[same[0]]["param"]):
            out += same  # every fact of that name: the caller picks the one not yet stated
            low = low.replace(spoken, " ")
    return sorted(out)


def _sentence(param: str, value: Any, mine: bool) -> str:
    """"My zip code is 80279." / "The item ids are 1 and 2." / "The item id is 1." (a one-item list)."""
    name = human(param)
    if value == [] or value == {}:
        return f"No {name}, none at all."
    many = isinstance(value, list) and len(value) > 1
    if isinstance(value, list) and len(value) == 1 and plural(param):
        name = name[:-1]
    return f"{'My' if mine else 'The'} {name} {'are' if many else 'is'} {say(value)}."


def _canonical(arguments: str) -> str:
    try:
        return json.dumps(json.loads(arguments), sort_keys=True)
    except ValueError:
        return arguments


USER_PROMPT = """You are a customer talking to a customer-service assistant. Stay in role; be brief.
Your goal: {goal}
What you know (say a value only when the assistant asks for it, one value per question; say you do not
know anything else; answer "yes" when the assistant asks you to confirm a change your goal needs):
{facts}
When your goal is done, or the assistant cannot help, reply with only {stop}."""


USER_TOOLS_NOTE = """
You can act on your own side (your devices at home) with the tools you are given, but only when the assistant
asks you to; then tell the assistant what you did and what you see."""
MAX_USER_TOOL_ROUNDS = 4


class LLMUser:
    """A user played by an LLM backend: it sees the conversation with roles swapped."""

    def __init__(self, task: dict[str, Any], backend: Any, **params: Any):
        self.task = task
        self.backend = backend
        self.params = params
        self.side = UserSide(task)

    def bind_environment(self, env: Any) -> None:
        self.side.bind(env)

    @property
    def user_calls(self) -> list[dict[str, Any]]:
        return self.side.calls

    def opening(self) -> str:
        return opening_from_goal(self.task["goal"])

    def respond(self, messages: list[dict[str, Any]]) -> str:
        lines = []
        for f in self.task["user_facts"]:
            step = "to confirm who you are" if f.get("identity") else f"for part {f.get('step', 0) + 1} of your request"
            line = f"- {human(f['param'])}: {say(f['value'])} ({step})"
            if "wrong_first" in f:
                line += f" (you first misremember it as {say(f['wrong_first'])}; correct it if told it is wrong)"
            lines.append(line)
        system = USER_PROMPT.format(goal=self.task["goal"], facts="\n".join(lines) or "- nothing", stop=STOP)
        flipped: list[dict[str, Any]] = [{"role": "system", "content": system}]
        for m in messages:
            if m["role"] == "user":
                flipped.append({"role": "assistant", "content": m["content"]})
            elif m["role"] == "assistant" and (m.get("content") or "").strip():
                flipped.append({"role": "user", "content": m["content"]})
        user_tools = self.side.env.user_tool_schemas() if self.side.env is not None else []
        if not user_tools:
            reply = self.backend.chat(flipped, **self.params)
            return (reply.get("content") or "").strip() or STOP
        flipped[0]["content"] += USER_TOOLS_NOTE
        done: list[str] = []
        for _ in range(MAX_USER_TOOL_ROUNDS):  # the user may use their own tools before answering
            reply = self.backend.chat(flipped, tools=user_tools, **self.params)
            if not reply.get("tool_calls"):
                break
            results = user_tool_call_reply(self.side, reply)
            done.extend(r.pop("said") for r in results)
            flipped.append({"role": "assistant", "content": reply.get("content") or "",
                            "tool_calls": reply["tool_calls"]})
            flipped.extend(results)
        text = (reply.get("content") or "").strip()
        return text or (" ".join(done) if done else STOP)
