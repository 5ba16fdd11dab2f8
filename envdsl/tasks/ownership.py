"""Who owns what: the user each key of a state belongs to, by a spec's ownership rules.

Task sampling anchors walks on one user with it, and the rollout's policy filter checks with it that
the agent acts only on the identified user's entities."""

from __future__ import annotations

from typing import Any, Iterator

from envdsl.ir.rules import PolicyRules


class OwnerIndex:
    """Which user owns each key of the state (user keys own themselves), by the rules' ownership links."""

    def __init__(self, rules: PolicyRules, state: dict[str, Any]):
        self.rules = rules
        self.by_key: dict[str, set[str]] = {}
        user = rules.user
        if user is None:
            return
        # an entity may be claimed by two users when a state is inconsistent (listed under one user, naming
        # another): it keeps both, so that acting on it counts as acting for two users
        owner: dict[tuple[str, str], set[str]] = {(user.collection, str(k)): {str(k)}
                                                  for k in state.get(user.collection, {})}
        for _ in range(len(rules.owned) + 2):  # links may name owners declared later: settle to a fixed point
            before = sum(len(v) for v in owner.values())
            for link in rules.owned:
                for key, rec in (state.get(link.on) or {}).items():
                    if not isinstance(rec, dict):
                        continue
                    if link.via == "ref":
                        who = owner.get((link.parent, str(rec.get(link.field))), set())
                        if who:
                            owner.setdefault((link.collection, str(key)), set()).update(who)
                    else:
                        who = owner.get((link.on, str(key)), set())
                        for k in rec.get(link.field) or [] if who else []:
                            owner.setdefault((link.collection, str(k)), set()).update(who)
            if sum(len(v) for v in owner.values()) == before:
                break
        for (_, key), who in owner.items():
            self.by_key.setdefault(key, set()).update(who)

    def owners(self, value: Any) -> set[str]:
        out: set[str] = set()
        for leaf in leaves(value):
            if isinstance(leaf, (str, int)) and not isinstance(leaf, bool):
                out |= self.by_key.get(str(leaf), set())
        return out



def leaves(value: Any) -> Iterator[Any]:
    """The scalar values inside a JSON value."""
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    else:
        yield value
