"""Turning API spellings (`$filter`, `filter[x]`, `Get User Info`, `term-id1`) into spec names and strings.

Every function here is total and deterministic: any input gives a valid identifier or a valid
string literal of the spec language, so a writer never has to think about escaping.
"""

from __future__ import annotations

import re

RESERVED = frozenset("true false null and or not in is if then else elif for let fail require return insert "
                     "delete append remove break continue to from".split())
# declaration keywords and type names: legal in some places, but never worth the risk as names
KEYWORDS = frozenset("domain policy seed const enum record union state invariant generator fn read write tool "
                     "collection by file str int float bool list map ref rules".split())
BUILTINS = frozenset("len sum min max any all sorted sort_by reversed count first keys values round abs str int "
                     "float lower upper strip fold startswith endswith split join replace range slice to_json now "
                     "new_id calc".split())

_IRREGULAR_PLURALS = {"person": "people", "child": "children", "man": "men", "woman": "women", "index": "indexes",
                      "status": "statuses", "data": "data", "info": "info", "news": "news", "series": "series",
                      "media": "media", "analysis": "analyses"}
_IRREGULAR_SINGULARS = {v: k for k, v in _IRREGULAR_PLURALS.items()}


def words(raw: str) -> list[str]:
    """Lower-case words of a name in any spelling: camelCase, snake_case, kebab-case, `a[b]`, spaces."""
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(raw))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [w for w in re.split(r"[^A-Za-z0-9]+", text.lower()) if w]


def identifier(raw: str, *, fallback: str = "x", max_len: int = 48) -> str:
    """snake_case identifier: not empty, no leading digit or `_`, not a reserved word or keyword."""
    name = "_".join(words(raw))[:max_len].strip("_") or fallback
    if name[0].isdigit():
        name = f"{fallback}_{name}"[:max_len]
    if name in RESERVED or name in KEYWORDS:
        name += "_"
    return name


def keep_or_identifier(raw: str, *, fallback: str = "x") -> str:
    """`raw` itself when it is already a usable name (`orderId`, `user_id`), else `identifier(raw)`:
    agents then see the API's own spelling wherever the language allows it."""
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]{0,47}", raw) and raw not in RESERVED and raw not in KEYWORDS:
        return raw
    return identifier(raw, fallback=fallback)


def type_name(raw: str, *, fallback: str = "Item") -> str:
    """CamelCase name for a record."""
    name = "".join(w.capitalize() for w in words(raw))[:48] or fallback
    return f"{fallback}{name}" if name[0].isdigit() else name


def singular(word: str) -> str:
    if word in _IRREGULAR_SINGULARS:
        return _IRREGULAR_SINGULARS[word]
    if word in _IRREGULAR_PLURALS or len(word) <= 3:
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("sses", "xes", "ches", "shes", "zes")):
        return word[:-2]
    if word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def plural(word: str) -> str:
    if word in _IRREGULAR_PLURALS:
        return _IRREGULAR_PLURALS[word]
    if word.endswith("y") and len(word) > 1 and word[-2] not in "aeiou":
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "ch", "sh", "z")):
        return word + "es"
    return word + "s"


def text(raw: object, max_len: int = 300) -> str:
    """One line of plain text: control characters and runs of whitespace collapsed, cut at max_len."""
    s = re.sub(r"\s+", " ", re.sub(r"[\x00-\x1f\x7f]", " ", str(raw or ""))).strip()
    return s if len(s) <= max_len else s[: max_len - 3].rstrip() + "..."


def string_literal(raw: object, max_len: int = 300) -> str:
    """A double-quoted spec string holding `raw` as one line of text."""
    s = text(raw, max_len)
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


class NameSpace:
    """Hands out names unique within one scope, adding `_2`, `_3`... on clashes."""

    def __init__(self, taken: set[str] | frozenset[str] = frozenset()):
        self.taken = set(taken)

    def claim(self, name: str) -> str:
        out, n = name, 2
        while out in self.taken:
            out = f"{name}_{n}"
            n += 1
        self.taken.add(out)
        return out
