"""The oracle agent's closing words: what was done, with the key values, as a person would say it.

Built from the calls the agent made and their results, never from a template per domain: each write
becomes a clause ("cancelled your pending order #W3529474", "moved $50.00 between ...", "changed your
default address to 35867 Jones Dam, Smithchester, AZ 94343"), the clauses one sentence; a conversation
that only read things ends with what the last read found, in a sentence ("Your order #W1 is pending.",
"I found 3 flights: HAT001, HAT002 and HAT003."). Field dumps are what this replaces.
"""

from __future__ import annotations

import json
import re
from typing import Any

from envdsl.rollout.speech import action, human, say, spoken_list

_IRREGULAR = {"pay": "paid", "send": "sent", "set": "set", "put": "put", "make": "made", "get": "got",
              "find": "found", "give": "gave", "take": "taken", "issue": "issued", "move": "moved",
              "cancel": "cancelled", "transfer": "transferred", "file": "filed", "unassign": "unassigned",
              "submit": "submitted", "swap": "swapped", "stop": "stopped", "log": "logged", "freeze": "froze",
              "unfreeze": "unfroze", "block": "blocked", "shut": "shut", "read": "read", "buy": "bought",
              "write": "written", "leave": "left", "hold": "held", "upgrade": "upgraded", "lend": "lent",
              "spend": "spent", "build": "built", "keep": "kept", "lock": "locked", "unlock": "unlocked",
              "switch": "switched", "bring": "brought", "choose": "chose", "sell": "sold"}
_WHO = r"(?:customer|user|patient|member|guest|client|passenger)"
_SMALL = {"of", "to", "for", "in", "on", "at", "by", "with", "from", "a", "an", "the", "one"}
_MONEY = re.compile(r"(^|_)(amount|price|total|balance|refund|fee|cost|payment)$")
# fields worth saying about a record a read found, most telling first; the rest stay unsaid
_TELLING = ("status", "state", "balance", "total", "amount", "price", "date", "time", "due_date", "start_date",
            "end_date", "departure", "origin", "destination", "title", "name", "available", "frozen", "enabled")


def past(verb: str) -> str:
    """The simple past of a verb in its base form: cancel -> cancelled, modify -> modified, book -> booked."""
    low = verb.lower()
    if low in _IRREGULAR:
        return _IRREGULAR[low]
    if low.endswith("e"):
        return low + "d"
    if re.search(r"[^aeiou]y$", low):
        return low[:-1] + "ied"
    return low + "ed"


def _money(value: Any) -> str:
    return f"${value:,.2f}" if isinstance(value, (int, float)) and not isinstance(value, bool) else say(value)


def _noun(param: str) -> str:
    """order_id -> order, from_account -> account, item_ids -> item."""
    words = human(param).split()
    words = [w for w in words if w not in ("id", "ids", "from", "to", "source", "target", "new", "old")]
    return words[-1] if words else human(param)


def _address(args: dict[str, Any]) -> str | None:
    """Address parts among a call's arguments as one address: "35867 Jones Dam, Apt. 152, Smithchester, AZ 94343"."""
    def get(*names: str) -> str:
        return next((args[n] for n in names if isinstance(args.get(n), str) and args[n]), "")

    street = [get("address1", "address_line1", "street"), get("address2", "address_line2"), get("city")]
    region = " ".join(x for x in (get("state"), get("zip", "zipcode", "postal_code")) if x)
    parts = [x for x in street + [region] if x]
    return ", ".join(parts) if len(parts) >= 2 else None


def clause(tool: dict[str, Any], args: dict[str, Any], user_key: str | None = None) -> str:
    """One write as words after "I": "cancelled your pending order #W3529474". `user_key`: the parameter
    naming the user ("" when no call names them), None when the conversation is about nobody."""
    text = _choose(action(tool), args)
    verb, _, rest = text.partition(" ")
    rest = re.sub(rf"\b(?:a|an|the|one)\s+{_WHO}'s\b", "your", rest)
    rest = re.sub(r"\btheir\b", "your", rest) if user_key is not None else rest
    rest = re.sub(rf"\s+of\s+(?:a|an|the)\s+{_WHO}\b", "", rest)  # "the address of a user" -> "your address"
    rest = re.sub(rf"\b(to|for)\s+(?:a|an|the)\s+{_WHO}\b", r"\1 you", rest)
    rest = re.sub(rf"^(?:a|an|the)\s+{_WHO}\b", "you", rest)  # "put a member in the hold queue"
    ids = [(k, v) for k, v in args.items() if (k.endswith("_id") or k.endswith("_account") or k in ("id",))
           and isinstance(v, (str, int)) and not isinstance(v, bool) and k != user_key]
    tail: list[str] = []
    mine = "your" if user_key is not None else "the"
    inserted = False
    for k, v in ids:
        noun = _noun(k)
        m = re.search(rf"\b(?:(?:a|an|the|one)\s+((?:(?!(?:of|to|for|in|on|a|an|the)\b)[\w-]+\s+){{0,2}}))?"
                      rf"{re.escape(noun)}\b(?!')", rest)
        if m and not re.search(rf"\b{re.escape(noun)}\s+#?\w*\d", rest):
            # "a pending order" -> "your pending order #W1": the id right after the word it names
            head = f"{mine} {m.group(1) or ''}" if m.group(0).split(" ", 1)[0] in ("a", "an", "the", "one") else ""
            said = m.group(0) if not head else head + m.group(0).rsplit(" ", 1)[-1]
            rest = rest[:m.start()] + f"{said} {say(v)}" + rest[m.end():]
            inserted = True
        else:
            tail.append(f"{' '.join(w for w in human(k).split() if w not in ('id', 'ids'))} {say(v)}")
    if not inserted:
        rest = re.sub(r"^(?:a|an|the)\s+", f"{mine} ", rest, count=1)
    out = f"{past(verb)} {rest}".strip()
    if tail:
        out += " (" + ", ".join(tail) + ")"
    money = [v for k, v in args.items() if _MONEY.search(k)]
    if money:
        out += f" for {_money(money[0])}"
    where = _address(args)
    if where:
        out += f" to {where}"
    return out


def _choose(text: str, args: dict[str, Any]) -> str:
    """A description that offers two actions picks the one a yes/no argument chose: "freeze an open account
    or unfreeze a frozen one" with frozen=false -> "unfreeze a frozen one"; "switch ... on or off" -> "on"."""
    flags = [v for v in args.values() if isinstance(v, bool)]
    if len(flags) != 1:
        return text
    m = re.match(r"^(.*?)\s+or\s+(un\w+\b.*)$", text)
    if m:
        first, second = m.group(1), m.group(2)
        if " " not in first and " " in second:  # "lock or unlock a door lock": the object is said once
            first = f"{first} {second.split(' ', 1)[1]}"
        return first if flags[0] else second
    return re.sub(r"\bon or off\b", "on" if flags[0] else "off", text)


def found(result: str, tool: dict[str, Any]) -> str:
    """What a read found, as a sentence."""
    try:
        value = json.loads(result)
    except ValueError:
        text = " ".join(result.split())
        return f"Here is what I found: {text if len(text) <= 200 else text[:200] + ' ...'}."
    if isinstance(value, list):
        if not value:
            return "I looked, but nothing matches."
        names = [_name_of(v) for v in value[:3]]
        more = f", among {len(value)} in all" if len(value) > 3 else ""
        return f"I found {len(value)}: {spoken_list(names)}{more}." if len(value) > 1 else f"I found one: {names[0]}."
    if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
        return found(json.dumps(list(value.values())), tool)  # a map of records: its records
    if isinstance(value, dict):
        name = _name_of(value)
        facts = [f"{human(k)} {_money(v) if _MONEY.search(k) else say(v)}" for k in _TELLING
                 if k in value and isinstance((v := value[k]), (str, int, float, bool)) and k not in ("name", "title")]
        if facts:
            return f"For {name}: the {spoken_list(facts[:3])}." if name else f"The {spoken_list(facts[:3])}."
        return f"I found {name}." if name else "I found the record you asked about."
    return f"The answer is {say(value)}."


def _name_of(record: Any) -> str:
    if not isinstance(record, dict):
        return say(record)
    for k in ("name", "title", "label"):
        if isinstance(record.get(k), str):
            return record[k]
    for k, v in record.items():
        if (k == "id" or k.endswith("_id") or k.endswith("_number")) and isinstance(v, (str, int)):
            return f"{_noun(k)} {say(v)}"
    return "one record"


def closing(done: list[tuple[dict[str, Any], dict[str, Any]]], last_read: tuple[dict[str, Any], str] | None,
            user_key: str | None) -> str:
    """The closing message: `done` = (tool IR, arguments) of each successful write, in order; `last_read` =
    (tool IR, result) of the last successful read, said when nothing was written."""
    if done:
        clauses = [clause(tool, args, user_key) for tool, args in done]
        text = f"All done: I've {spoken_list(clauses)}."
    elif last_read is not None:
        text = found(last_read[1], last_read[0])
    else:
        text = "I could not make any change this time."
    return text + " Is there anything else I can help you with?"
