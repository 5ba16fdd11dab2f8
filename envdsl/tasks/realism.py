"""Realistic values for generated initial states, chosen by what a field means (its name and record).

The runtime generator makes values that satisfy a spec's types and constraints ("harbor-380" for a
street); this hook, handed to `generate_state`, makes them look like what they are: names, emails,
phones, streets, cities, zips, dates, prices from Faker, and ids in the format the spec's own seed
state uses ("#W0000000" -> "#W4829103"). Deterministic: Faker is re-seeded from the generator's
random stream for every value, so a generator seed gives the same state every time. Any value this
hook gives is checked against the field's constraints by the generator, which falls back to its own
value when the hook's does not fit (a phone pattern Faker's numbers do not match, say).
"""

from __future__ import annotations

import datetime as dt
import random
import re
from typing import Any

from faker import Faker

# dates of records (bookings, appointments, orders): a fixed window, never "today", for determinism
_EVENTS = (dt.date(2024, 1, 1), dt.date(2025, 12, 31))
_PERSON = re.compile(r"user|customer|patient|member|guest|person|owner|doctor|passenger|contact|"
                     r"employee|staff|author|reader|client|account|profile", re.I)
# values that differ from person to person: distinct ones beat a spec's few examples (an email per user)
_PERSONAL = re.compile(r"(^|_)(email|name|first_name|last_name|phone|street|address|dob|date_of_birth)$", re.I)
_TEXT = {"note", "notes", "memo", "text", "description", "comment", "reason", "cancel_reason", "message"}
_MONEY = re.compile(r"(^|_)(price|amount|balance|total|subtotal|fee|charge|cost|copay|refunded|discount|"
                    r"fines_due|balance_due|limit|min_order|daily_limit)$")


class RealisticValues:
    """The value hook: call it with (field name, record name, type, constraints, rng)."""

    def __init__(self, seed_state: dict[str, Any] | None = None, locale: str = "en_US"):
        self.fake = Faker(locale)
        self.seen = _values_by_field(seed_state or {})  # field name -> the seed state's values of it

    def __call__(self, name: str, record: str, t: dict[str, Any], c: dict[str, Any], rng: random.Random) -> Any:
        self.fake.seed_instance(rng.getrandbits(32))
        k = t["k"]
        person_field = bool(_PERSONAL.search(name)) and (name.lower() != "name" or bool(_PERSON.search(record)))
        if "examples" in c and not person_field:
            return None  # the spec's own examples, except for values each person has their own of
        if k == "str":
            return self._text(name.lower(), record, rng, c)
        if k in ("date", "datetime"):  # a typed date field: a birthday or a day of the records' window
            return self._typed_date(name.lower(), k, rng)
        if k == "float" and _MONEY.search(name.lower()):
            lo, hi = float(c.get("min", 0.0)), float(c.get("max", 500.0))
            value = round(rng.uniform(max(lo, 1.0), max(min(hi, 500.0), lo + 1.0)), 2)
            if "price" in name.lower() and value >= 1 and int(value) + 0.99 <= hi:
                value = int(value) + 0.99  # a shelf price: 23.99
            return value
        return None

    def _typed_date(self, name: str, kind: str, rng: random.Random) -> str:
        f = self.fake
        if name in ("dob", "date_of_birth", "birth_date", "birthday"):
            day = f.date_between_dates(dt.date(1940, 1, 1), dt.date(2006, 12, 31))
        else:
            day = f.date_between_dates(*_EVENTS)
        if kind == "date":
            return str(day.isoformat())
        return f"{day.isoformat()}T{rng.randint(7, 21):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"

    def _text(self, name: str, record: str, rng: random.Random, c: dict[str, Any]) -> str | None:
        f = self.fake
        if name.endswith("[]"):  # a map's keys: in the format of the seed state's keys of that map
            keys = self.seen.get(name)
            return _like(rng.choice(keys), rng) if keys else None
        if name == "email" or name.endswith("_email"):
            # a pattern may fix the domain (work emails): take it from the spec's examples or seed values
            domains = [e.split("@", 1)[1] for e in list(c.get("examples", [])) + self.seen.get(name, [])
                       if isinstance(e, str) and "@" in e] if "pattern" in c else []
            domain = rng.choice(domains) if domains else f.free_email_domain()
            return f"{f.first_name()}.{f.last_name()}{rng.randint(1, 99)}@{domain}".lower()
        if name in ("first_name", "given_name"):
            return str(f.first_name())
        if name in ("last_name", "surname", "family_name"):
            return str(f.last_name())
        if name in ("owner_name", "full_name", "patient_name", "customer_name") or \
                (name == "name" and _PERSON.search(record)):
            return str(f.name())
        if name == "nickname":
            return str(f.first_name())
        if name in ("phone", "phone_number", "mobile") or name.endswith("_phone"):
            return str(f.numerify("+1-###-###-####"))
        if name in ("street", "address1", "street_address", "address_line1"):
            return str(f.street_address())
        if name in ("address2", "address_line2"):
            return str(f.secondary_address())
        if name == "address":
            return str(f.address()).replace("\n", ", ")
        if name == "city":
            return str(f.city())
        if name == "state" and "address" in record.lower():
            return str(f.state_abbr())
        if name in ("zip", "zipcode", "zip_code", "postal_code"):
            return str(f.zipcode())
        if name == "country":
            return "USA"
        if name in ("dob", "date_of_birth", "birth_date", "birthday"):
            return str(f.date_between_dates(dt.date(1940, 1, 1), dt.date(2006, 12, 31)).isoformat())
        if name == "date" or name.endswith("_date"):
            return str(f.date_between_dates(*_EVENTS).isoformat())
        if name.endswith("_at"):
            day = f.date_between_dates(*_EVENTS)
            return f"{day.isoformat()}T{rng.randint(7, 21):02d}:{rng.choice((0, 15, 30, 45)):02d}:00"
        if name in _TEXT:  # free text: what the seed state says, else a short Faker sentence
            return str(rng.choice(self.seen[name])) if self.seen.get(name) else str(f.sentence(nb_words=6)).rstrip(".")
        if name in ("title", "label"):  # what the seed state calls things ('home', 'work'), else three words
            return str(rng.choice(self.seen[name])) if self.seen.get(name) else str(f.sentence(nb_words=3)).rstrip(".")
        if name in ("name", "brand", "company"):  # a product, a restaurant: names the seed state uses, else a firm
            return str(rng.choice(self.seen[name])) if self.seen.get(name) and name != "name" else str(f.company())
        seen = self.seen.get(name) or self.seen.get(name + "s") or self.seen.get(re.sub(r"y$", "ies", name))
        if seen:  # an `allergy` parameter: the values of the `allergies` lists
            if name == "id" or name.endswith("_id") or name.endswith("_number"):
                return _like(rng.choice(seen), rng)  # an id in the spec's own format, new digits
            return str(rng.choice(seen))  # a status, a cabin class, ...: a value the seed state uses
        if name == "id" or name.endswith("_id"):
            return f"{name.removesuffix('_id') or 'id'}_{rng.randint(100000, 999999)}"
        return None


def _like(example: Any, rng: random.Random) -> str:
    """The example with each digit replaced by a random one: '#W0000000' -> '#W4829103'."""
    return re.sub(r"\d", lambda _: str(rng.randint(0, 9)), str(example))


def _values_by_field(state: Any) -> dict[str, list[str]]:
    """Every string value of every field name in a (nested) state, distinct, in first-seen order."""
    out: dict[str, list[str]] = {}
    seen: dict[str, set[str]] = {}

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                if isinstance(v, dict):  # a map's keys, under `field[]` (a record's field names come too: harmless)
                    for key in v:
                        if key not in seen.setdefault(f"{str(k).lower()}[]", set()):
                            seen[f"{str(k).lower()}[]"].add(key)
                            out.setdefault(f"{str(k).lower()}[]", []).append(key)
                for item in (v if isinstance(v, list) else [v]):  # a list of strings: its items
                    if isinstance(item, str) and item not in seen.setdefault(str(k).lower(), set()):
                        seen[str(k).lower()].add(item)
                        out.setdefault(str(k).lower(), []).append(item)
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(state)
    return out
