"""The checker's part for `rules { ... }` blocks: names exist, ownership paths are typed links to the
user, confirmations name write tools. Produces the IR's "rules" entry (envdsl/ir/rules.py).

Kept apart from checker.py so that the rules grow without touching the expression checker."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from envdsl import ir as T
from envdsl.ir.rules import OwnedLink, PolicyRules, UserRule
from envdsl.lang import ast as A

if TYPE_CHECKING:
    from envdsl.lang.checker import Checker


def check_rules(c: "Checker", decls: list[Any]) -> dict[str, Any]:
    blocks = [d for d in decls if isinstance(d, A.RulesDecl)]
    for extra in blocks[1:]:
        c.err("E0801", "only one rules block is allowed", extra.span, "put every rule in one `rules { ... }`")
    entries = blocks[0].entries if blocks else []
    users = [e for e in entries if e.kind == "user"]
    for again in users[1:]:
        c.err("E0801", "the rules name the user collection more than once", again.span,
              "one conversation serves one kind of user: keep one `user ... identified by ...` line")
    user = _user_rule(c, users[0]) if users else None
    owned: list[OwnedLink] = []
    for e in entries:
        if e.kind == "owned":
            link = _owned_link(c, e, user, owned)
            if link is not None:
                owned.append(link)
    confirm = _tools(c, [e for e in entries if e.kind == "confirm"], write_only=True)
    transfer = _tools(c, [e for e in entries if e.kind == "transfer"], write_only=False)
    both = sorted(set(confirm) & set(transfer))
    if both:
        entry = next(e for e in entries if e.kind == "transfer")
        c.err("E0807", f"'{both[0]}' is both a tool that needs confirmation and a transfer tool", entry.span)
    refuse = tuple(e.text or "" for e in entries if e.kind == "refuse")
    goals: dict[str, str] = {}
    for e in entries:
        if e.kind == "goal":
            name, span = e.names[0]
            if not _tool_exists(c, name, span):
                continue
            if name in goals:
                c.err("E0801", f"the goal wording of '{name}' is stated twice", e.span)
            goals[name] = e.text or ""
    recipients = _recipients(c, [e for e in entries if e.kind == "recipient"], user)
    return PolicyRules(user, tuple(owned), confirm, transfer, refuse, tuple(sorted(goals.items())),
                       recipients).to_json()


def _recipients(c: "Checker", entries: list[A.RuleEntry], user: UserRule | None) -> tuple[tuple[str, str], ...]:
    """`recipient TOOL.PARAM`: the argument names who receives (a payment's destination account), which may
    be another user's entity."""
    out: list[tuple[str, str]] = []
    for e in entries:
        (tool, tspan), (param, pspan) = e.names
        if user is None:
            c.err("E0808", "a recipient rule needs the user collection first", e.span,
                  "declare `user COLLECTION identified by TOOL, ...` before the `recipient` lines")
            continue
        if not _tool_exists(c, tool, tspan):
            continue
        decl = c.tools[tool].decl
        params = [str(p.name) for p in getattr(decl, "params", None) or []]
        if param not in params:
            c.err("E0809", f"tool '{tool}' has no parameter '{param}'", pspan, _hint(param, params))
            continue
        if getattr(decl, "effect", "read") != "write":
            c.err("E0810", f"'{tool}' is a read tool: only a write tool sends something to a recipient", tspan,
                  "a read that names another user's entity is acting on that user: leave it out of `recipient`")
            continue
        if param == user.key:
            c.err("E0810", f"'{tool}.{param}' is the user's own key, not a recipient", pspan,
                  "a recipient names who receives (an account, a payee), never the user the conversation is about")
            continue
        if (tool, param) in out:
            c.err("E0801", f"'{tool}.{param}' is stated twice", e.span)
            continue
        out.append((tool, param))
    return tuple(out)


def _user_rule(c: "Checker", e: A.RuleEntry) -> UserRule | None:
    (coll, span), tools = e.names[0], e.names[1:]
    if not _collection(c, coll, span):
        return None
    entry = c.state[coll]
    key_type = entry["key_type"]
    seen: list[str] = []
    for name, tspan in tools:
        if not _tool_exists(c, name, tspan):
            continue
        if name in seen:
            c.err("E0801", f"'{name}' is named twice", tspan)
            continue
        seen.append(name)
        returns = T.strip_opt(c.tools[name].returns)
        if not (returns == key_type or returns == T.named("record", entry["record"])):
            c.err("E0804", f"identification tool '{name}' returns {T.show(c.tools[name].returns)}, not the "
                           f"{entry['key']} or the {entry['record']} of a user", tspan,
                  f"an identification tool returns the user's key ({T.show(key_type)}) or their {entry['record']}")
    return UserRule(coll, entry["key"] or "", tuple(seen))  # "": a `keyed` collection has no key field


def _owned_link(c: "Checker", e: A.RuleEntry, user: UserRule | None, owned: list[OwnedLink]) -> OwnedLink | None:
    (coll, cspan), (fname, fspan) = e.names
    if user is None:
        c.err("E0808", "an ownership rule needs the user collection first", e.span,
              "declare `user COLLECTION identified by TOOL, ...` before the `owned` lines")
        return None
    if not _collection(c, coll, cspan):
        return None
    record = c.state[coll]["record"]
    fld = next((f for f in c.record_fields.get(record, []) if f["name"] == fname), None)
    if fld is None:
        names = [f["name"] for f in c.record_fields.get(record, [])]
        c.err("E0805", f"record {record} of '{coll}' has no field '{fname}'", fspan, _hint(fname, names))
        return None
    ftype = T.strip_opt(fld["type"])
    parents = {user.collection} | {o.collection for o in owned}
    if ftype["k"] == "ref" and ftype["coll"] in parents:
        # the entity names its owner: orders.user_id, cards.account_id
        link = OwnedLink(coll, fname, coll, "ref", ftype["coll"])
    elif ftype["k"] == "list" and T.strip_opt(ftype["of"])["k"] == "ref" and coll in parents:
        # the owner lists its entities: users.orders
        target = T.strip_opt(ftype["of"])["coll"]
        link = OwnedLink(target, fname, coll, "list", coll)
    else:
        c.err("E0806", f"'{coll}.{fname}' ({T.show(fld['type'])}) does not lead to a user of '{user.collection}'",
              e.span, f"name a ref<{user.collection}> field (or a ref to an owned collection) of the owned "
                      f"entity, or a list<ref<...>> field of '{user.collection}' or of an owned collection")
        return None
    if link.collection == user.collection:
        c.err("E0806", f"'{coll}.{fname}' makes users own users", e.span)
        return None
    if any(o.collection == link.collection and o.field == link.field and o.on == link.on for o in owned):
        c.err("E0801", f"'{coll}.{fname}' is stated twice", e.span)
        return None
    return link


def _tools(c: "Checker", entries: list[A.RuleEntry], write_only: bool) -> tuple[str, ...]:
    out: list[str] = []
    for e in entries:
        for name, span in e.names:
            if not _tool_exists(c, name, span):
                continue
            if write_only and getattr(c.tools[name].decl, "effect", "read") != "write":
                c.err("E0807", f"'{name}' is a read tool: only write tools need the user's confirmation", span)
                continue
            if name in out:
                c.err("E0801", f"'{name}' is named twice", span)
                continue
            out.append(name)
    return tuple(out)


def _collection(c: "Checker", name: str, span: Any) -> bool:
    if c.state.get(name, {}).get("kind") == "collection":
        return True
    colls = [n for n, s in c.state.items() if s.get("kind") == "collection"]
    c.err("E0802", f"unknown collection '{name}' in rules", span, _hint(name, colls))
    return False


def _tool_exists(c: "Checker", name: str, span: Any) -> bool:
    if name in c.tools:
        return True
    c.err("E0803", f"unknown tool '{name}' in rules", span, _hint(name, list(c.tools)))
    return False


def _hint(name: str, candidates: list[str]) -> str | None:
    import difflib

    close = difflib.get_close_matches(name, candidates, n=1)
    return f"did you mean '{close[0]}'?" if close else None
