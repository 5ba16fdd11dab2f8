"""Realistic, reproducible seed values by what a field means, from Faker.

A value depends only on (entity, field, record index): each draws from a Faker instance seeded
with a CRC of those, so the same domain always gets the same seed, and adding a field does not
shift the values of the others. The field's words pick the provider (`email`, `countryCode`,
`price`, `created_at`...); what no rule knows gets a short realistic phrase, never "Job 2".
"""

from __future__ import annotations

import datetime as _datetime
import functools
import zlib
from typing import Any, Callable

from envdsl.synth import naming as N

PEOPLE = frozenset("user customer person author member employee contact owner patient student driver player "
                   "artist agent account profile follower friend guest passenger traveler client subscriber "
                   "candidate applicant manager admin creator recipient sender".split())
COMPANIES = frozenset("company organization organisation business vendor supplier merchant brand partner "
                      "publisher team store shop bank provider carrier airline".split())


@functools.lru_cache(maxsize=1)
def _faker() -> Any:
    from faker import Faker

    return Faker("en_US")


def faker(*parts: object) -> Any:
    """The process's Faker, re-seeded for this value (building a Faker costs milliseconds; seeding does not)."""
    fake = _faker()
    fake.seed_instance(zlib.crc32("/".join(map(str, parts)).encode()))
    return fake


def record_name(noun: str, i: int) -> str:
    """A display name for the i-th record of an entity: a person's, a company's, or a product-like phrase."""
    fake = faker(noun, "name", i)
    ws = set(N.words(noun))
    if ws & PEOPLE:
        return str(fake.name())
    if ws & COMPANIES:
        return str(fake.company())
    if ws & {"city", "location", "place", "town"}:
        return str(fake.city())
    if ws & {"country"}:
        return str(fake.country())
    return f"{fake.word().capitalize()} {fake.word()} {noun.replace('_', ' ')}"


STRING_RULES: list[tuple[frozenset[str], Callable[[Any], Any]]] = [
    (frozenset({"email", "mail"}), lambda f: f.email()),
    (frozenset({"phone", "mobile", "tel", "telephone", "fax"}), lambda f: f.numerify("+1-###-###-####")),
    (frozenset({"url", "link", "website", "homepage", "href", "uri"}), lambda f: f.url()),
    (frozenset({"uuid", "guid"}), lambda f: str(f.uuid4())),
    (frozenset({"currency"}), lambda f: f.currency_code()),
    (frozenset({"country"}), lambda f: f.country_code()),
    (frozenset({"language", "lang", "locale"}), lambda f: f.random_element(["en", "de", "fr", "es", "ja", "pt"])),
    (frozenset({"city", "town"}), lambda f: f.city()),
    (frozenset({"state", "province", "region"}), lambda f: f.state_abbr()),
    (frozenset({"zip", "postal", "postcode", "zipcode"}), lambda f: f.postcode()),
    (frozenset({"street", "address"}), lambda f: f.street_address()),
    (frozenset({"ip"}), lambda f: f.ipv4()),
    (frozenset({"color", "colour"}), lambda f: f.color_name()),
    (frozenset({"timezone", "tz"}), lambda f: f.timezone()),
    (frozenset({"username", "login", "handle", "nickname"}), lambda f: f.user_name()),
    (frozenset({"company", "organization", "organisation", "employer", "vendor", "brand"}), lambda f: f.company()),
    (frozenset({"author", "owner", "creator", "assignee", "customer", "contact"}), lambda f: f.name()),
    (frozenset({"title", "subject", "headline", "summary"}), lambda f: f.sentence(nb_words=4).rstrip(".")),
    (frozenset({"description", "text", "comment", "message", "body", "content", "note", "notes", "bio"}),
     lambda f: f.sentence(nb_words=9)),
    (frozenset({"job", "position", "occupation", "role"}), lambda f: f.job()),
    (frozenset({"tag", "category", "genre", "type", "kind", "label", "keyword"}), lambda f: f.word()),
    (frozenset({"sku", "code", "reference", "ref", "serial"}), lambda f: f.bothify("??-####").upper()),
    (frozenset({"password", "secret", "token"}), lambda f: f.password(length=12)),
    (frozenset({"version"}), lambda f: f.numerify("#.#.#")),
    (frozenset({"mime", "format", "extension"}), lambda f: f.file_extension()),
    (frozenset({"file", "filename", "path"}), lambda f: f.file_name()),
]
NAMES = frozenset({"name", "firstname", "lastname", "fullname"})


def string_value(entity: str, fname: str, i: int) -> str:
    ws = N.words(fname)
    fake = faker(entity, fname, i)
    last = set(ws[-1:])
    if "first" in ws and "name" in ws:
        return str(fake.first_name())
    if "last" in ws and "name" in ws:
        return str(fake.last_name())
    if set(ws) & {"date", "day", "birthday", "dob"} and not set(ws) & {"time", "updated", "created"}:
        return str(fake.date_between_dates(_date(2023, 1, 1), _date(2025, 12, 31)).isoformat())
    if set(ws) & {"time", "timestamp", "datetime"} or ws[-1:] == ["at"] or set(ws) & {"created", "updated"}:
        return str(fake.date_time_between_dates(_dt(2023, 1, 1), _dt(2025, 12, 31)).strftime("%Y-%m-%dT%H:%M:%SZ"))
    if "country" in ws:
        return str(fake.country_code() if set(ws) & {"code", "iso", "id"} else fake.country())
    if "id" in last or "key" in last:  # an id in a recognisable format of its own
        return str(fake.bothify("???-#####").lower())
    for words, make in STRING_RULES:  # the last word says most ("billing_email"), then any word
        if last & words:
            return str(make(fake))
    for words, make in STRING_RULES:
        if set(ws) & words:
            return str(make(fake))
    if last & NAMES:
        return record_name(entity + "_" + "_".join(ws[:-1]), i) if len(ws) > 1 else record_name(entity, i)
    if ws[-1:] == ["status"]:
        return str(fake.random_element(["active", "pending", "inactive"]))
    return f"{fake.word()} {fake.word()}"


def number_value(fname: str, ftype: str, i: int, entity: str, lo: float | None = None,
                 hi: float | None = None) -> int | float:
    """A number in a range that fits the field's meaning (a price, a count, a rating, a year...)."""
    ws = set(N.words(fname))
    fake = faker(entity, fname, i)
    if ws & {"lat", "latitude"}:
        a, b = -60.0, 70.0
    elif ws & {"lon", "lng", "longitude"}:
        a, b = -170.0, 170.0
    elif ws & {"year"}:
        a, b = 1990, 2025
    elif ws & {"rating", "stars", "score"}:
        a, b = 1, 5
    elif ws & {"percent", "percentage", "rate", "ratio", "discount"}:
        a, b = 0, 100
    elif ws & {"price", "amount", "cost", "total", "balance", "fee", "salary", "budget", "revenue", "value"}:
        a, b = 5, 2500
    elif ws & {"age"}:
        a, b = 18, 90
    else:
        a, b = 1, 500
    a = lo if lo is not None else a
    b = hi if hi is not None else max(b, a + 1)
    if lo is None and a > b:  # only an upper bound, below the meaning's range
        a = 0 if b > 0 else b - 100
    if a >= b:
        return int(a) if ftype == "int" else float(a)
    if ftype == "int":
        lo_i, hi_i = int(a), int(b)
        return int(fake.random_int(min(lo_i, hi_i), max(lo_i, hi_i)))
    return round(float(fake.pyfloat(min_value=float(a), max_value=float(b))), 2)


def _date(y: int, m: int, d: int) -> Any:
    import datetime

    return datetime.date(y, m, d)


def _dt(y: int, m: int, d: int) -> Any:
    import datetime

    return datetime.datetime(y, m, d)


def date_value(kind: str, i: int) -> str:
    """The i-th record's value of a date (or datetime) field: 2024-01-15 plus 37 days a record, so the
    seed holds distinct real days (a leap day among them) in the language's ISO form."""
    day = _datetime.date(2024, 1, 15) + _datetime.timedelta(days=(37 * i) % 720)
    if kind == "date":
        return day.isoformat()
    return f"{day.isoformat()}T{9 + i % 9:02d}:{(15 * i) % 60:02d}:00"
