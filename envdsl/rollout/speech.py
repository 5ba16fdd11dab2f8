"""Small wording helpers shared by the oracle agent and the scripted user."""

from __future__ import annotations

import json
import re
from typing import Any

from envdsl.tasks.goals import base_form

# parameter names that people say otherwise: nobody asks for "your address1" or "your zip"
_SPOKEN = {"address1": "street address", "address_line1": "street address", "address2": "apartment or suite",
           "address_line2": "apartment or suite", "zip": "zip code", "zipcode": "zip code", "dob": "date of birth",
           "qty": "quantity", "num": "number"}


def human(param: str) -> str:
    """A parameter name as people say it: order_id -> order id, zip -> zip code, address1 -> street address."""
    return _SPOKEN.get(param.lower(), param.replace("_", " "))


def plural(param: str) -> bool:
    """Whether a parameter's spoken name is plural (item ids): "are", not "is"."""
    last = human(param).rsplit(" ", 1)[-1]
    return last.endswith("s") and not last.endswith(("ss", "us", "is"))


def phrase(tool: dict[str, Any]) -> str:
    """A tool's description as a verb phrase (first sentence, lower-cased start, no full stop)."""
    text = " ".join((tool.get("description") or "").split())
    first = re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0].rstrip(".!? ")
    if not first:
        return tool["name"].replace("_", " ")
    return first[0].lower() + first[1:]


_NOT_A_VERB = {"a", "an", "the", "all", "one", "every", "each", "whether", "how", "what", "which", "who", "details",
               "information", "current", "available", "new", "existing"}


def action(tool: dict[str, Any]) -> str:
    """What a tool does, as words that follow "I will" or "to": the description's verb phrase, or, for a
    description that opens with a noun ("A guest's reservations ..."), that noun phrase after a verb."""
    text = base_form(_gist(phrase(tool)))
    first = text.split(" ", 1)[0].lower()
    if first in _NOT_A_VERB or first.endswith("'s"):
        verb = "look up" if tool.get("effect") == "read" else "update"
        return f"{verb} {text}"
    return text


def _gist(text: str) -> str:
    """The action without the details a description adds for the agent (after ';' or ':', in brackets)."""
    # brackets first: a colon inside them ("(HH:MM)") is not where the action ends; an unclosed one is cut
    text = re.sub(r"\s*\([^)]*(\)|$)", "", text)
    text = re.split(r"[;:]", text, maxsplit=1)[0]
    return " ".join(text.split()).rstrip(",. ") or text


AFFIRM = re.compile(r"\b(yes|yeah|yep|sure|go ahead|please do|confirm(ed)?)\b", re.I)
DECLINE = re.compile(r"^\s*(no|nope|don't|do not|wait|stop)\b", re.I)


def declined(text: str) -> bool:
    """Whether a user's answer to a confirmation question says no."""
    return DECLINE.search(text) is not None and AFFIRM.search(text) is None


def spoken_list(items: list[str]) -> str:
    """Items as a person lists them: "a", "a and b", "a, b and c"."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def say(value: Any) -> str:
    """A value as the user states it: strings bare, a list of plain values as "a, b and c", everything else
    as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, list) and value and all(isinstance(x, (str, int, float)) and not isinstance(x, bool)
                                                 for x in value):
        items = [say(x) for x in value]
        return spoken_list(items)
    if isinstance(value, list) and value and all(isinstance(x, dict) and x and all(
            isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in x.values()) for x in value):
        items = [_record(x) for x in value]  # passengers: "Oscar Stafford (date of birth 1960-10-11)"
        return spoken_list(items)
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _record(rec: dict[str, Any]) -> str:
    """A small record as words: its name fields first, then the rest as "field value"."""
    names = [say(v) for k, v in rec.items() if k.endswith("name")]
    rest = [f"{human(k)} {say(v)}" for k, v in rec.items() if not k.endswith("name")]
    head = " ".join(names) or rest.pop(0)
    return f"{head} ({'; '.join(rest)})" if rest else head


def value_mentioned(value: Any, text: str) -> bool:
    """Whether `value`, as `say` writes it, stands on its own in `text` (not inside a longer token)."""
    s = say(value)
    return re.search(r"(?<![\w.-])" + re.escape(s) + r"(?![\w-]|\.\d)", text) is not None


def mentions(text: str, param: str) -> bool:
    """Whether a message asks about `param` (by its name or its spoken form)."""
    low = text.lower()
    # whole words only: a parameter called `on` is not asked for by "confirm"
    return any(re.search(rf"(?<![a-z0-9_]){re.escape(x)}(?![a-z0-9_])", low)
               for x in {param.lower(), human(param).lower()})


