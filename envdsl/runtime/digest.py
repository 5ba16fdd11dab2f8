"""A whole-state fingerprint in one pass, for deciding whether two states are equal.

Environment.state_hash() is the sha256 of json.dumps(state, sort_keys=True): the same bytes as
tau2-bench's database hash, which is what `envdsl replay` compares with the benchmark's own hashes.
Serialising a whole state with the standard library's encoder costs tens of milliseconds on a tau2
database; orjson writes the same canonical data (sorted keys, ints and floats kept apart, floats in
their shortest round-trip form) several times faster, in a compact byte format of its own. So
`state_digest` is the quick way to fingerprint a state once, when only equality matters; its values
cannot be compared with tau2-bench's hashes or with state_hash(). Without orjson (the `fast` extra),
or for data orjson refuses (integers beyond 64 bits), the standard encoder is used; a one-byte tag
keeps the two byte formats from ever producing the same input to sha256.

One difference from the standard encoder: orjson writes NaN and infinities as null. They are not JSON
data, and a state holding one is outside what envdsl's validation and tools produce.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

try:
    import orjson
except ImportError:  # the `fast` extra is not installed
    orjson = None  # type: ignore[assignment]


def state_digest(data: Any) -> str:
    """sha256 hex digest of DATA's canonical JSON (sorted keys), in one pass."""
    if orjson is not None:
        try:
            return hashlib.sha256(b"o" + orjson.dumps(data, option=orjson.OPT_SORT_KEYS)).hexdigest()
        except TypeError:  # an integer beyond 64 bits, or something that is not JSON data
            pass
    return hashlib.sha256(b"j" + json.dumps(data, sort_keys=True).encode()).hexdigest()
