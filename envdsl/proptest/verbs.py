"""What a tool's name (or description) says it does: the verb, found with a real lemmatiser.

`lemminflect` (its data ships inside the wheel, so this works offline) turns `creates`,
`cancelled`, `Booking` into their lemmas and says whether a word can be a verb; a small
lexicon of lemmas then tells which verbs change state and how. Prefix matching would read
`settings` as `set` and `listing` as `list`; the lemmatiser does not.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

# what a successful call of a tool with this verb must do to the entity its name names
CREATE, UPDATE, DELETE, STATUS, CHANGE, READ = "create", "update", "delete", "status", "change", "read"

_LEXICON: dict[str, str] = {}
for _effect, _lemmas in {
    CREATE: "create add insert register post publish upload import generate make new invite subscribe schedule "
            "reserve book compose open issue submit place enrol enroll tweet retweet mkdir",
    UPDATE: "update set edit modify patch change rename assign edit replace move mark toggle enable disable "
            "activate deactivate attach detach upgrade increment decrement adjust configure tag label rate like",
    DELETE: "delete remove destroy purge drop unregister erase discard unsubscribe rmdir unfollow",
    STATUS: "cancel close resolve archive unarchive approve reject confirm complete suspend restore lock unlock "
            "pause resume reopen dismiss finish accept decline block unblock ban",
    CHANGE: "send sell buy order pay transfer deposit withdraw refund charge follow share reset start stop restart "
            "run execute trigger save write return",
    READ: "get list search find fetch retrieve read show describe view lookup query browse count check calculate "
          "compute convert estimate predict analyze analyse detect validate verify parse preview download export "
          "translate summarize summarise format compare recommend suggest identify classify extract lookup see "
          "display measure evaluate filter scan",
}.items():
    for _lemma in _lemmas.split():
        _LEXICON.setdefault(_lemma, _effect)

# words that are nouns first: a verb only as the first word of a name (`book_flight`, not `get_book`)
_NOUN_FIRST = frozenset("book order post issue set list count tag label rate like share open new place run "
                        "filter view show start stop charge transfer deposit refund block save".split())


# second words that make a noun-first word a noun (`order_history`, `book_details`)
_NOUN_TAILS = frozenset("history status details detail info information list summary count id ids items search "
                        "lookup data type types by of for report reports book books".split())
_HTTP_METHODS = frozenset("post put patch".split())
_PARTICLES = frozenset("in out up off on over".split())
# verbs that open descriptions of reads ("Returns the weather for ...")
_DESCRIPTION_READS = frozenset("return provide give obtain".split())


@dataclass(frozen=True)
class Verb:
    word: str  # as written
    lemma: str
    effect: str  # CREATE ... READ

    @property
    def writes(self) -> bool:
        return self.effect != READ


PHRASAL = Verb("", "", "")  # a phrasal verb whose meaning the lexicon does not know


def words(raw: str) -> list[str]:
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", str(raw))
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1 \2", text)
    return [w for w in re.split(r"[^A-Za-z]+", text.lower()) if w]


@functools.lru_cache(maxsize=4096)
def verb_lemma(word: str) -> str | None:
    """The verb lemma of a word, or None when the lemmatiser does not know it as a verb."""
    if word in _LEXICON:  # base forms, and words it does not know (`mkdir`, `retweet`)
        return word
    import lemminflect

    lemmas = lemminflect.getAllLemmas(word).get("VERB")
    return lemmas[0] if lemmas else None


@functools.lru_cache(maxsize=4096)
def verb_only(word: str) -> bool:
    """A known verb that is never a noun (`get`, `create`; not `lock`, `order`)."""
    import lemminflect

    lemma = verb_lemma(word)
    return lemma in _LEXICON and lemma not in _NOUN_FIRST and "NOUN" not in lemminflect.getAllLemmas(word)


def name_verb(name: str) -> Verb | None:
    """The first word of a tool name that is a known verb (`getUserOrders` -> get, `book_flight` -> book)."""
    ws = words(name)
    for i, w in enumerate(ws[:4]):
        lemma = verb_lemma(w)
        if lemma is None or lemma not in _LEXICON:
            continue
        # `tags_get`: a noun before a verb; `post_check_account`: an HTTP method before the real verb
        later_verb = any(verb_only(x) or (w in _HTTP_METHODS and verb_lemma(x) in _LEXICON) for x in ws[i + 1:i + 4])
        if lemma in _NOUN_FIRST and (i > 0 or (ws[1:2] and ws[1] in _NOUN_TAILS) or later_verb):
            continue  # `get_book`, `order_history`: the noun, not the verb
        if _LEXICON[lemma] == READ and ws[i + 1:i + 2] and ws[i + 1] in _PARTICLES:
            return PHRASAL  # `check_in`, `look_up`: a phrasal verb means something else
        return Verb(w, lemma, _LEXICON[lemma])
    return None


def description_verb(description: str) -> Verb | None:
    """The verb a description opens with ("Creates a ...", "Cancel the order"), if any."""
    ws = words(description)[:1]
    if not ws:
        return None
    lemma = verb_lemma(ws[0])
    if lemma in _DESCRIPTION_READS and ws[0].endswith("s"):  # "Returns the ...", not "Return the items"
        return Verb(ws[0], lemma, READ)
    return Verb(ws[0], lemma, _LEXICON[lemma]) if lemma in _LEXICON else None


def tool_verb(name: str, description: str = "") -> Verb | None:
    verb = name_verb(name)
    if verb is PHRASAL:
        return None
    return verb or description_verb(description)
