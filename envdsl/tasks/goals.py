"""The user's goal for a task: from templates (offline, deterministic) or written by an LLM."""

from __future__ import annotations

import json
import random
import re
from typing import Any


def _phrase(description: str, name: str) -> str:
    """A tool's description as a verb phrase: its first sentence, first letter lowered, no full stop."""
    first = re.split(r"(?<=[.!?])\s", " ".join(description.split()), maxsplit=1)[0].rstrip(".!? ")
    if not first:
        return name.replace("_", " ")
    return first[0].lower() + first[1:]


_PERSON = r"(?:patient|customer|user|member|guest|owner|client|caller|passenger|account holder|household)"
_NOT_A_VERB = {"a", "an", "the", "all", "one", "every", "each", "whether", "how", "what", "which", "who", "details",
               "information", "current", "available", "your"}


def _personal(phrase: str) -> str:
    """The phrase as the user says it about themselves: "a patient's chart" -> "your chart"."""
    phrase = re.sub(rf"\b(?:a|an|the|one)\s+{_PERSON}'s\b", "your", phrase)
    phrase = re.sub(rf"\bfor\s+(?:a|an|the)\s+{_PERSON}\b", "for you", phrase)
    phrase = re.sub(rf"\b(?:a|an|the)\s+{_PERSON}\s+(has|is)\b",
                    lambda m: "you have" if m.group(1) == "has" else "you are", phrase)
    return phrase


def _gist(phrase: str) -> str:
    """The request without the details a description adds for the agent: after ';' or ':', in brackets."""
    # brackets first: a colon inside them ("(HH:MM)") is not where the action ends; an unclosed one is cut
    phrase = re.sub(r"\s*\([^)]*(\)|$)", "", phrase)
    phrase = re.split(r"[;:]", phrase, maxsplit=1)[0]
    return " ".join(phrase.split()).rstrip(",. ")


_THIRD_PERSON = {"returns": "return", "gets": "get", "lists": "list", "finds": "find", "creates": "create",
                 "updates": "update", "searches": "search", "checks": "check", "shows": "show", "retrieves": "retrieve",
                 "fetches": "fetch", "looks": "look", "adds": "add", "removes": "remove", "cancels": "cancel",
                 "books": "book", "sets": "set", "sends": "send", "changes": "change", "deletes": "delete",
                 "modifies": "modify", "records": "record", "marks": "mark", "places": "place"}


def base_form(text: str) -> str:
    """"returns a list ..." -> "return a list ...": descriptions often speak of the tool in the third person."""
    first, _, rest = text.partition(" ")
    base = _THIRD_PERSON.get(first.lower())
    return f"{base} {rest}".strip() if base else text



def tool_goal(tool: dict[str, Any], goals: dict[str, str]) -> str:
    """How a user asks for what one tool does: the spec's own wording (`goal TOOL "..."` in its rules), else
    the description's first sentence made personal, as a verb phrase."""
    if tool["name"] in goals:
        return goals[tool["name"]]
    phrase = _personal(base_form(_gist(_phrase(tool.get("description", ""), tool["name"]))))
    first = phrase.split(" ", 1)[0].lower()
    if first in _NOT_A_VERB or first.endswith("'s"):
        phrase = ("find out " if tool["effect"] == "read" else "change ") + phrase
    return phrase


# how people open a request, and go on to the next part of it: varied per task, never per call
OPENERS = ("You want to", "You would like to", "You need to", "You are calling to", "You are hoping to",
           "You are getting in touch to")
_THEN = (", and then {}", "; after that, you also want to {}", ", and once that is done, {}", ", and also {}")
# verbs of one intent that a person uses interchangeably: "cancel" and "call off", "find out" and "check"
_SAME_INTENT = (("cancel", "call off"), ("change", "update", "modify", "edit"), ("find out", "check", "look up", "see"),
                ("remove", "delete", "get rid of"), ("create", "set up", "open"), ("add", "put in"),
                ("book", "reserve"), ("list", "see", "go over"), ("get", "look up", "find out"),
                ("move", "transfer", "shift"), ("show", "see"), ("search", "look"), ("view", "see", "look at"),
                ("report", "flag"), ("request", "ask for"), ("schedule", "book"), ("pay", "make a payment to"),
                ("return", "send back"), ("exchange", "swap"), ("save", "add"), ("switch", "turn"),
                ("assign", "hand"), ("archive", "close down"), ("renew", "extend"), ("place", "put in"))


def phrasings(phrase: str) -> list[str]:
    """Ways to say one intent: the phrase itself and the phrase with its verb swapped for one of the same
    intent ("cancel your pending order" -> "call off your pending order")."""
    out = [phrase]
    for group in _SAME_INTENT:
        for verb in group:
            if phrase == verb or phrase.startswith(verb + " "):
                rest = phrase[len(verb):]
                out += [other + rest for other in group if other != verb and other + rest not in out]
                return out
    return out


def first_person(goal: str) -> str:
    """A goal as the user says it: "You would like to cancel your order." -> "I would like to cancel my order."."""
    text = re.sub(r"^You are\b", "I'm", goal.strip())
    text = re.sub(r"^You (want|would like|need)\b", lambda m: f"I {m.group(1)}", text)
    text = re.sub(r"\byour\b", "my", text)
    text = re.sub(r"\bfor you\b", "for me", text)
    text = re.sub(r"\byou (have|are)\b", lambda m: "I have" if m.group(1) == "have" else "I am", text)
    text = re.sub(r"\byou\b(?= \w+ed\b)", "I", text)  # "a book you borrowed" -> "a book I borrowed"
    text = re.sub(r"\byou also want\b", "I also want", text)
    return text


def template_goal(task: dict[str, Any], ir: dict[str, Any]) -> str:
    """One request in plain words: what the user wants done, step by step, never a tool or parameter
    name; the identification the policy asks for is the agent's business, not part of the request. The
    wording (opener, verb of each intent, how the steps join) is drawn per task from its id, so the same
    task always reads the same and different tasks of one kind read differently."""
    tools = {t["name"]: t for t in ir["tools"]}
    goals = dict((ir.get("rules") or {}).get("goals") or {})
    rng = random.Random(str(task.get("task_id") or json.dumps(task.get("gold_calls"), sort_keys=True)))
    steps: list[str] = []
    intents: list[str] = []
    for call in task["gold_calls"]:
        if not call["ok"] or call.get("identifies"):
            continue
        phrase = tool_goal(tools[call["name"]], goals)
        if phrase not in intents:  # the same kind of step twice is said once: a goal, not a call log
            intents.append(phrase)
            steps.append(rng.choice(phrasings(phrase)))
    opener = rng.choice(OPENERS)
    if not steps:
        return f"{opener} confirm who you are with the assistant and check that your details are on file."
    if len(steps) == 1:
        return f"{opener} {steps[0]}."
    text = f"{opener} {steps[0]}"
    for step in steps[1:]:
        text += rng.choice(_THEN).format(step)
    return text + "."


GOAL_PROMPT = """You write the goal of a simulated customer for a tool-using assistant.
The assistant will have to make these tool calls (do not name the tools, parameters or ids):
{calls}
The customer knows these facts, each for the step it is used in (mention what they want, not every value):
{facts}
Write the customer's goal in the second person ("You want to ..."), one to three sentences, plain text."""


def llm_goal_writer(backend: Any) -> Any:
    """A goal writer for TaskSampler that asks `backend` (see envdsl.llm) and falls back on failure."""

    def write(task: dict[str, Any], ir: dict[str, Any]) -> str:
        calls = "\n".join(f"{i + 1}. {c['name']}({c['arguments']})" + ("" if c["ok"] else " -> fails")
                          + (" (identifies the customer)" if c.get("identifies") else "")
                          for i, c in enumerate(task["gold_calls"]))
        facts = "\n".join(f"- {f['param']}: {json.dumps(f['value'])} (step {f.get('step', 0) + 1}"
                          + (", to identify themselves)" if f.get("identity") else ")")
                          for f in task["user_facts"]) or "- none"
        reply = backend.chat([{"role": "user", "content": GOAL_PROMPT.format(calls=calls, facts=facts)}],
                             temperature=0)
        text = " ".join((reply.get("content") or "").split())
        if not text:
            raise ValueError("empty goal")
        return text

    return write


class CountingGoalWriter:
    """Wraps a goal writer to count what it wrote and how often the sampler fell back to a template goal
    (the sampler swallows a writer's errors), so `envdsl tasks --llm` can say so. Once the backend is
    unavailable (BackendUnavailable: down, bad key, no such model) it stops asking: every later call
    would fail the same way, after the same retries."""

    def __init__(self, write: Any):
        self.write = write
        self.written = 0
        self.fallbacks = 0
        self.first_error: str | None = None
        self.unavailable: str | None = None

    def __call__(self, task: dict[str, Any], ir: dict[str, Any]) -> str:
        from envdsl.llm.base import BackendUnavailable

        if self.unavailable is not None:
            self.fallbacks += 1
            raise RuntimeError(self.unavailable)
        try:
            goal = self.write(task, ir)
        except BackendUnavailable as e:
            self.unavailable = str(e)
            self._failed(e)
            raise
        except Exception as e:
            self._failed(e)
            raise
        self.written += 1
        return str(goal)

    def _failed(self, e: Exception) -> None:
        self.fallbacks += 1
        if self.first_error is None:
            self.first_error = f"{type(e).__name__}: {e}"[:300]
