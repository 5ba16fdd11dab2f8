"""Policy rules in machine-readable form: the typed shape of the IR's "rules" entry.

The checker writes it (from a spec's `rules { ... }` block), and task sampling, the oracle agent,
the simulated user and the filters read it through `PolicyRules.from_ir`. JSON shape (docs/ir.md):

    {"user": {"collection": "users", "key": "user_id", "identify": ["find_user_id_by_email"]} | null,
     "owned": [{"collection": "orders", "field": "user_id", "on": "orders", "via": "ref", "parent": "users"},
               {"collection": "orders", "field": "orders", "on": "users", "via": "list", "parent": "users"}],
     "confirm": ["cancel_pending_order"], "transfer": ["transfer_to_human_agents"], "refuse": ["..."],
     "goals": {"cancel_pending_order": "cancel an order you no longer need"},
     "recipients": [["transfer_between_accounts", "to_account"]]}

An `owned` link says how an entity of `collection` leads to its `parent` (the user collection or
another owned collection): "ref" - the entity's own `field` holds the parent's key; "list" - the
parent's `field` holds the keys of the entities it owns.

A recipient (tool, parameter) is an argument that names who receives something (the account a payment
goes into): it may be another user's entity, so it neither needs that user identified nor makes the
conversation about two users. Absent from IR written before recipients existed: none.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class UserRule:
    collection: str
    key: str
    identify: tuple[str, ...]


@dataclass(frozen=True)
class OwnedLink:
    collection: str  # the owned entities
    field: str
    on: str  # the collection whose records carry `field`
    via: str  # "ref" | "list"
    parent: str


@dataclass(frozen=True)
class PolicyRules:
    user: UserRule | None = None
    owned: tuple[OwnedLink, ...] = ()
    confirm: tuple[str, ...] = ()
    transfer: tuple[str, ...] = ()
    refuse: tuple[str, ...] = ()
    goals: tuple[tuple[str, str], ...] = ()  # (tool, how a user asks for what it does), for task goals
    recipients: tuple[tuple[str, str], ...] = ()  # (tool, parameter) that may name another user's entity

    def to_json(self) -> dict[str, Any]:
        return {"user": None if self.user is None else {**asdict(self.user), "identify": list(self.user.identify)},
                "owned": [asdict(o) for o in self.owned], "confirm": list(self.confirm),
                "transfer": list(self.transfer), "refuse": list(self.refuse), "goals": dict(self.goals),
                "recipients": [list(r) for r in self.recipients]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> "PolicyRules":
        if not data:
            return cls()
        user = data.get("user")
        return cls(
            user=None if user is None else UserRule(user["collection"], user["key"], tuple(user["identify"])),
            owned=tuple(OwnedLink(**o) for o in data.get("owned", [])),
            confirm=tuple(data.get("confirm", [])), transfer=tuple(data.get("transfer", [])),
            refuse=tuple(data.get("refuse", [])), goals=tuple(sorted((data.get("goals") or {}).items())),
            recipients=tuple((str(t), str(p)) for t, p in data.get("recipients", [])))

    @classmethod
    def from_ir(cls, ir: dict[str, Any]) -> "PolicyRules":
        """The rules of a compiled domain; none for IR written before rules existed."""
        return cls.from_json(ir.get("rules"))

    def owning_arguments(self, tool: str, args: Any) -> Any:
        """A call's arguments without its recipient arguments: those that say whose entities it acts on."""
        if not isinstance(args, dict) or not self.recipients:
            return args
        return {k: v for k, v in args.items() if (tool, k) not in self.recipients}

    @property
    def empty(self) -> bool:
        return self == PolicyRules()
