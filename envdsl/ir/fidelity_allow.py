"""`# fidelity: allow CODE TOOL: reason` comments of a spec, as IR data.

A hand-written spec may silence one fidelity finding (F01xx, envdsl/proptest/fidelity.py) for one tool,
or `*` for all, with a written reason. The compiler copies them into the IR (`fidelity_allow`), so that
`envdsl test` on a compiled package honours them without the spec file beside it.
"""

from __future__ import annotations

import re
from typing import Any

PRAGMA = re.compile(r"^\s*#\s*fidelity:\s*allow\s+(F01\d\d)\s+([A-Za-z_*][A-Za-z0-9_]*)\s*:\s*(\S.*)$")


def parse_allowances(source: str) -> list[dict[str, Any]]:
    """[{"code", "tool", "reason"}] in file order; a comment without a reason silences nothing."""
    out = []
    for line in source.splitlines():
        m = PRAGMA.match(line)
        if m:
            out.append({"code": m.group(1), "tool": m.group(2), "reason": m.group(3).strip()})
    return out
