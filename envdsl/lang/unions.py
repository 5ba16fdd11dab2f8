"""Untagged unions: `union Payment { Card, Voucher }` holds one of several records with no tag field.

A value carries no tag, so each variant must have a field that no other variant of the union has (in
any form, required or not): its presence tells the variants apart at run time (validation, `x is V`)
deterministically, where guessing by shape could take one record for another. A variant with no such
field is E0906. Consumers must still tell the variants apart before reading a field that not all of
them have (E0306 with a hint to test `x is V`), exactly as with tagged unions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from envdsl.lang.checker import Checker


def untagged_variant_keys(c: "Checker") -> dict[str, str]:
    """For each variant record of an untagged union, the first declared field that only it has."""
    keys: dict[str, str] = {}
    for u in c.unions.values():
        if u.tag:
            continue
        recs = [r for _, r, _ in u.variants if r in c.record_fields]
        names = {r: [f["name"] for f in c.record_fields[r]] for r in recs}
        for _, rec, span in u.variants:
            if rec not in names:
                continue  # not a record: E0214 already
            others = {n for r in recs if r != rec for n in names[r]}
            own = next((n for n in names[rec] if n not in others), None)
            if own is None:
                c.err("E0906", f"variant {rec} of untagged union {u.name} has no field that the other variants "
                               f"lack, so its values cannot be told apart", span,
                      f"give {rec} a field of its own, or tag the union: union {u.name} by kind {{ ... }}")
                continue
            keys[rec] = own
    return keys
