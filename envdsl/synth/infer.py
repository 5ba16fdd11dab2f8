"""What a domain's tools say about its state: entities, their fields, and what each tool does to them.

Heuristics only, from names and schemas:
- the verb (get, list, create, update, delete, and their synonyms; the HTTP method when the name
  has none) decides the tool's kind;
- the noun after (or before) the verb names the entity; an id-like parameter (`user_id`, `userId`,
  `id`, `term-id1`, Google's `name`) is the entity's key;
- the other scalar parameters and the scalar properties of the return schema become the entity's
  fields, with the type first seen (a later conflicting type is simply not mapped).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from envdsl.lang.dates import exact_problem
from envdsl.synth import naming as N
from envdsl.synth.sources import Tool

GET, LIST, CREATE, UPDATE, DELETE = "get", "list", "create", "update", "delete"
COMPUTE = "compute"  # a stateless calculator, converter or formatter: a pure function of its inputs
# verbs of tools that compute an answer from their inputs rather than look something up
COMPUTE_VERBS = frozenset("calculate compute convert estimate predict format translate validate analyze analyse "
                          "detect parse summarize summarise evaluate measure classify generate encode decode "
                          "hash transform".split()) - {"generate"}

VERBS: dict[str, str] = {}
for _kind, _words in {
    GET: "get fetch retrieve read show describe view detail details info lookup check calculate compute convert "
         "translate estimate predict analyze analyse detect validate verify resolve parse preview download export "
         "test",
    LIST: "list search find query browse filter enumerate scan",
    CREATE: "create add new post insert register make generate upload send submit book place open import issue "
            "invite subscribe schedule reserve compose write publish run execute trigger request order buy",
    UPDATE: "update set edit modify patch put change replace rename assign enable disable activate deactivate start "
            "stop restart cancel approve reject close reopen reset move attach detach mark toggle archive unarchive "
            "restore lock unlock pause resume confirm complete accept decline transfer upgrade sync refresh",
    DELETE: "delete remove destroy purge drop unregister revoke clear erase unsubscribe discard",
}.items():
    for _w in _words.split():
        VERBS[_w] = _kind
HTTP_KINDS = {"post": CREATE, "put": UPDATE, "patch": UPDATE, "delete": DELETE}

STOP_WORDS = frozenset("all by for of the a an to from in on with and or api apis me my info details detail data id "
                       "ids using new current specific given single multiple batch bulk one via json xml endpoint "
                       "call request response result results v1 v2 v3 v4 beta alpha latest each".split())
KEY_SUFFIXES = ("id", "uuid", "slug", "key", "code", "number", "name")
# parameters that say how to call the API (auth, paging, formats), never what the state holds
NOISE = frozenset("api_version alt fields key access_token oauth_token callback pretty_print quota_user upload_type "
                  "upload_protocol xgafv format token api_key apikey if_match if_none_match select expand orderby "
                  "order_by sort skip offset page page_token page_number page_size per_page cursor limit top count "
                  "include user_agent content_type accept_language accept authorization x_api_key "
                  "subscription_key client_id client_secret secret password cache_control if_modified_since "
                  "if_unmodified_since prefer x_request_id request_id idempotency_key accept_encoding ending_before "
                  "starting_after output_format response_format pretty".split())
AUTH_KEYS = frozenset("key api_key apikey access_key secret_key access_token token client_id client_secret x_api_key "
                      "subscription_key api_version".split())
PAGING_WORDS = frozenset("token marker cursor continuation".split())


def is_noise(original: str) -> bool:
    """A parameter about the call rather than the data: auth, paging, formats, HTTP `X-` headers
    (`$top`, `body_NextToken`, `MaxResults`, `X-Amz-Target`)."""
    ws = N.words(original)
    if ws[:1] == ["body"] and len(ws) > 1:
        ws = ws[1:]
    if not ws or original[:2].lower() == "x-":  # HTTP extension headers
        return True
    snake = "_".join(ws)
    return snake in NOISE or snake in LIMIT_PARAMS or (ws[-1] in PAGING_WORDS and len(ws) <= 3) or \
        snake in ("max_results", "max_items", "max_records", "page_size", "next_page_token")


QUERY_PARAMS = frozenset("q query search keyword keywords term search_term text filter search_query".split())
LIMIT_PARAMS = frozenset("limit top max_results page_size per_page size max num num_results max_items "
                         "results_per_page".split())
OFFSET_PARAMS = frozenset("offset skip start page page_number".split())
NAME_PARAMS = ("name", "title", "label", "display_name", "full_name", "username", "user_name")
LIST_WRAPPERS = ("value", "data", "items", "results", "records", "list", "entries", "content", "elements")
MAX_PARAMS = 24
MAX_FIELDS = 40
MAX_ENUM = 40
SCALARS = ("str", "int", "float", "bool", "date", "datetime")
# JSON Schema string formats the language has a type for (a date-time is kept only in the zone-free ISO form)
DATE_FORMATS = {"date": "date", "date-time": "datetime"}


@dataclass
class Param:
    name: str  # spec name
    original: str
    type: str  # base spec type: str int float bool list<..> map<str, str>
    required: bool
    description: str = ""
    enum: list[Any] | None = None
    minimum: float | None = None
    maximum: float | None = None
    min_len: int | None = None
    max_len: int | None = None
    examples: list[Any] = field(default_factory=list)
    field: str | None = None  # the entity field it reads or writes
    role: str | None = None  # key | selector | query | limit | offset | label

    @property
    def words(self) -> list[str]:
        return N.words(self.original)


@dataclass
class Field:
    name: str
    type: str
    description: str = ""
    enum: list[Any] | None = None
    examples: list[Any] = field(default_factory=list)
    # the bounds of the parameter that made it: seed values keep them, so a tool can look records up by it
    bounds: tuple[Any, ...] = (None, None, None, None)  # minimum, maximum, min_len, max_len


@dataclass
class Entity:
    noun: str
    record: str = ""
    collection: str = ""
    lookup_fn: str = ""
    numeric_key: bool = False
    fields: dict[str, Field] = field(default_factory=dict)
    has_updates: bool = False
    key_param: str = ""  # the API's name of the parameter that keys it (`countryCode`): natural keys
    key_examples: list[Any] = field(default_factory=list)
    status_field: str = ""  # the field lifecycle verbs set, when some tool has one

    @property
    def label(self) -> str:
        return self.noun.replace("_", " ").strip()


@dataclass
class ToolPlan:
    tool: Tool
    name: str
    kind: str
    entity: Entity
    params: list[Param]
    key: Param | None = None
    selector: Param | None = None
    read_only: bool = True
    result_record: str = ""  # COMPUTE: the record type of its result
    status_to: str | None = None  # the status a lifecycle verb sets (`cancel_job` -> "cancelled")
    dropped: list[str] = field(default_factory=list)  # API parameters about the call, not the data


@dataclass
class DomainModel:
    entities: dict[str, Entity]
    plans: list[ToolPlan]


# --- schemas -------------------------------------------------------------------------------------

def base_type(schema: Any) -> str:
    """The spec type for a JSON schema: scalars, lists of scalars, and everything else as text or a str map."""
    if not isinstance(schema, dict):
        return "str"
    t = schema.get("type")
    if isinstance(t, list):
        t = next((x for x in t if x != "null"), "string")
    if t == "integer":
        return "int"
    if t == "number":
        return "float"
    if t == "boolean":
        return "bool"
    if t == "array":
        item = base_type(schema.get("items"))
        return f"list<{item if item in SCALARS else 'str'}>"
    if t == "object" or "properties" in schema:
        return "map<str, str>"
    if t in ("string", None) and schema.get("format") in DATE_FORMATS:
        return DATE_FORMATS[schema["format"]]
    return "str"


def object_properties(schema: Any, depth: int = 0) -> dict[str, Any]:
    """Top-level properties of a return schema, looking through allOf, arrays and list wrappers."""
    if not isinstance(schema, dict) or depth > 3:
        return {}
    if isinstance(schema.get("allOf"), list):
        out: dict[str, Any] = {}
        for part in schema["allOf"]:
            out.update(object_properties(part, depth + 1))
        return out
    if schema.get("type") == "array":
        return object_properties(schema.get("items"), depth + 1)
    props = schema.get("properties")
    if not isinstance(props, dict):
        return {}
    for wrapper in LIST_WRAPPERS:
        inner = props.get(wrapper)
        if isinstance(inner, dict) and inner.get("type") == "array":
            return object_properties(inner, depth + 1)
    return props


def explicitly_scalar(schema: Any) -> bool:
    """A schema that says it is a scalar, or a list of scalars (a bare `{}` or a `$ref` stub does not)."""
    if not isinstance(schema, dict):
        return False
    t = schema.get("type")
    if t == "array":
        return explicitly_scalar(schema.get("items"))
    return t in ("string", "integer", "number", "boolean")


def make_param(original: str, schema: Any, required: bool) -> Param:
    schema = schema if isinstance(schema, dict) else {}
    ptype = base_type(schema)
    p = Param(name=N.keep_or_identifier(original, fallback="p"), original=original, type=ptype, required=required,
              description=N.text(schema.get("description") or "", 200))
    enum = schema.get("enum")
    if ptype in ("str", "int") and isinstance(enum, list) and 0 < len(enum) <= MAX_ENUM:
        want = str if ptype == "str" else int
        values = [v for v in dict.fromkeys(e for e in enum if type(e) is want)]
        if values and all(not isinstance(v, str) or len(v) <= 80 for v in values):
            p.enum = values
    if ptype in ("int", "float"):
        lo, hi = schema.get("minimum"), schema.get("maximum")
        ok = [isinstance(v, (int, float)) and not isinstance(v, bool) and abs(v) < 1e15 for v in (lo, hi)]
        p.minimum = float(lo) if ok[0] else None
        p.maximum = float(hi) if ok[1] else None
        if ptype == "int":
            p.minimum = float(int(p.minimum)) if p.minimum is not None and p.minimum == int(p.minimum) else None
            p.maximum = float(int(p.maximum)) if p.maximum is not None and p.maximum == int(p.maximum) else None
        if p.minimum is not None and p.maximum is not None and p.minimum > p.maximum:
            p.minimum = p.maximum = None
    if ptype == "str":
        lo, hi = schema.get("minLength"), schema.get("maxLength")
        p.min_len = lo if isinstance(lo, int) and not isinstance(lo, bool) and 0 <= lo <= 10_000 else None
        p.max_len = hi if isinstance(hi, int) and not isinstance(hi, bool) and 1 <= hi <= 100_000 else None
        if p.min_len is not None and p.max_len is not None and p.min_len > p.max_len:
            p.min_len = p.max_len = None
    for k in ("example", "default"):
        if k in schema:
            p.examples.append(schema[k])
    if isinstance(schema.get("examples"), list):
        p.examples.extend(schema["examples"][:3])
    if ptype in ("date", "datetime"):  # an API's "2024-05-01T10:00:00Z" is not our form: such examples are dropped
        p.examples = [x for x in p.examples if exact_problem(x, ptype) is None]
    return p


def is_transport(original: str) -> bool:
    """A parameter about how the API is called (credentials, API version, response format, paging
    tokens, HTTP headers), which a simulated environment has no use for: the name-mapping rule drops
    it, and the spec's header comment lists it. Paging sizes and offsets are kept (lists honour them)."""
    snake = N.identifier(original)
    return is_noise(original) and snake not in LIMIT_PARAMS and snake not in OFFSET_PARAMS


def source_params(tool: Tool, fallback: str = "p") -> dict[str, dict[str, str]]:
    """{API name: {"name", "type"}} for every parameter of the source (transport ones aside) under the
    name-mapping rule: what the fidelity gate's F0109 expects a spec's tool to declare."""
    return {k: {"name": N.keep_or_identifier(k, fallback=fallback), "type": base_type(v).split("<")[0]}
            for k, v in tool.properties.items() if not is_transport(k)}


def source_fields(schema: Any) -> list[tuple[str, str]]:
    """(API name, spec name) of the scalar top-level fields of a response schema, at most 16, noise aside:
    the fields the fidelity gate's F0110 may expect a successful result to carry."""
    return [(original, N.keep_or_identifier(original, fallback="f"))
            for original, s in list(object_properties(schema).items())[:16]
            if explicitly_scalar(s) and not is_noise(original)]


def dropped_params(tool: Tool) -> list[str]:
    return [k for k in tool.properties if is_transport(k)]


def tool_params(tool: Tool) -> list[Param]:
    """The tool's parameters as spec parameters: required ones first, at most MAX_PARAMS, names unique;
    transport parameters (is_transport) left out."""
    required = set(tool.required)
    props = [(k, v) for k, v in tool.properties.items() if not is_transport(k)]
    ordered = [x for x in props if x[0] in required] + [x for x in props if x[0] not in required]
    space = N.NameSpace()
    out = []
    for original, schema in ordered[:MAX_PARAMS]:
        p = make_param(original, schema, original in required)
        p.name = space.claim(p.name)
        out.append(p)
    return out


# --- names and verbs ----------------------------------------------------------------------------

def verb_and_noun(tool: Tool) -> tuple[str | None, str | None]:
    ws = [re.sub(r"\d+$", "", w) for w in N.words(tool.name)]
    ws = [w for w in ws if w]
    idx = next((i for i, w in enumerate(ws) if w in VERBS), None)
    verb = ws[idx] if idx is not None else None
    if idx is None:
        candidates = ws
    else:
        # words after the verb name the thing (`create_order`: "order" is a verb too, but not here)
        after = [w for w in ws[idx + 1:] if w not in STOP_WORDS]
        candidates = after or [w for w in ws[:idx] if w not in STOP_WORDS]
    candidates = [w for w in candidates if w not in STOP_WORDS and not w.isdigit()]
    noun = N.singular(candidates[-1]) if candidates else None
    return verb, noun


def key_prefix(p: Param) -> list[str]:
    ws = [re.sub(r"\d+$", "", w) for w in p.words]
    ws = [w for w in ws if w]
    if len(ws) >= 2 and ws[-1] in KEY_SUFFIXES:
        return ws[:-1]
    if len(ws) == 1 and ws[0].endswith("id") and len(ws[0]) > 3:  # "colisid", "userid"
        return [ws[0][:-2]]
    return []


def is_key_type(p: Param) -> bool:
    # an enum or a bound would reject the generated keys of the seed
    constrained = p.enum is not None or p.minimum is not None or p.maximum is not None or p.min_len or p.max_len
    return p.type in ("str", "int") and not constrained and p.name not in AUTH_KEYS and \
        N.identifier(p.original) not in AUTH_KEYS


def choose_key(params: list[Param], noun: str | None, kind: str) -> tuple[Param | None, str | None]:
    """The parameter naming the record a tool acts on, and the entity noun it implies."""
    cands = [p for p in params if is_key_type(p)]
    if noun:
        for p in cands:
            prefix = key_prefix(p)
            if p.required and (prefix and N.singular(prefix[-1]) == noun or p.words == [noun]):
                return p, noun
    for p in cands:
        if p.words in (["id"], ["uuid"], ["slug"]):
            return p, noun
    if kind not in (GET, UPDATE, DELETE):
        return None, noun
    ids = [p for p in cands if p.required and key_prefix(p) and p.words[-1].rstrip("0123456789") in ("id", "uuid")
           or p.required and len(p.words) == 1 and p.words[0].endswith("id") and len(p.words[0]) > 3]
    if ids:
        p = ids[-1]  # REST paths name the most specific resource last
        return p, N.singular(key_prefix(p)[-1])
    for p in cands:
        if p.required and p.words == ["name"] and p.type == "str":
            return p, noun
    named = [p for p in cands if p.required and key_prefix(p) and p.words[-1] in ("name", "code", "number", "key")]
    if named:
        p = named[-1]
        return p, N.singular(key_prefix(p)[-1])
    return None, noun


def classify(tool: Tool, verb: str | None) -> str:
    """The kind from the name's verb as the lemmatiser reads it (envdsl/proptest/verbs.py, the same
    reading the fidelity gate applies), else the writer's verb table, else the HTTP method."""
    from envdsl.proptest import verbs as V

    said = V.tool_verb(tool.name, tool.description)
    if said is not None:
        if said.lemma in COMPUTE_VERBS:
            return COMPUTE
        if said.effect == V.READ:
            return LIST if said.lemma in ("list", "search", "find", "query", "browse", "filter", "scan") else GET
        if said.effect == V.DELETE:
            return DELETE
        if said.effect in (V.UPDATE, V.STATUS):
            return UPDATE
        return CREATE  # create, and verbs that make something happen: send, sell, book, order
    if verb is not None:
        return VERBS[verb]
    return HTTP_KINDS.get(tool.http_method or "", GET)


def status_after(tool: Tool) -> str | None:
    """The status a lifecycle verb leaves (`cancel` -> "cancelled", `close` -> "closed"), if it is one."""
    from envdsl.proptest import verbs as V

    said = V.tool_verb(tool.name, tool.description)
    if said is None or said.effect != V.STATUS:
        return None
    import lemminflect

    forms = lemminflect.getInflection(said.lemma, tag="VBN")
    return forms[0] if forms else f"{said.lemma}ed"


# --- the model -----------------------------------------------------------------------------------

def infer_domain(tools: list[Tool], fallback_noun: str = "item") -> DomainModel:
    entities: dict[str, Entity] = {}
    plans: list[ToolPlan] = []
    for tool in tools:
        params = tool_params(tool)
        verb, named = verb_and_noun(tool)
        kind = classify(tool, verb)
        key, noun = choose_key(params, named, GET if kind == COMPUTE else kind)
        if kind == LIST and key is not None and key.required and named and noun != named:
            # `list_landing_pages(profileId)`: the key names the parent; the list is of the named thing,
            # filtered by the parent's id like any other field
            key, noun = None, named
        if kind == COMPUTE and key is not None:
            kind = GET  # `calculate_route(route_id)`: the thing is looked up
        noun = N.identifier(noun or fallback_noun, fallback="item")
        if kind == LIST and key is not None and key.required:
            kind = GET
        if kind == CREATE and key is not None and not key.required:
            key = None
        # a calculator's result is no entity of the state
        entity = Entity(noun) if kind == COMPUTE else entities.setdefault(noun, Entity(noun))
        plan = ToolPlan(tool, N.keep_or_identifier(tool.name, fallback="tool"), kind, entity, params, key=key,
                        dropped=dropped_params(tool))
        if key is not None and kind != COMPUTE:
            key.role = "key"
            entity.numeric_key |= key.type == "int"
            if not entity.key_param:
                entity.key_param = key.original
                entity.key_examples = [x for x in key.examples if isinstance(x, (str, int)) and not isinstance(x, bool)]
        if kind == COMPUTE:
            plans.append(plan)
            continue
        assign_roles(plan)
        map_fields(plan)
        if plan.kind in (GET, UPDATE, DELETE) and plan.key is None:
            choose_selector(plan)
        # `set_alarm(time)` with nothing to select: changes the first record (body_update), never inserts
        if plan.kind == GET and plan.key is None and plan.selector is None:
            plan.kind = LIST  # a get with nothing to find by returns the matching records
            for p in plan.params:
                snake = N.identifier(p.original)
                if p.type == "int" and p.role is None and (snake in LIMIT_PARAMS or snake in OFFSET_PARAMS):
                    p.role, p.field = ("limit" if snake in LIMIT_PARAMS else "offset"), None
        plan.read_only = plan.kind in (GET, LIST)
        entity.has_updates |= plan.kind == UPDATE
        if plan.kind == UPDATE:
            plan.status_to = status_after(tool)
            if plan.status_to and not entity.status_field:
                taken = entity.fields.get("status")
                entity.status_field = "status" if taken is None or (taken.type == "str" and not taken.enum) \
                    else "lifecycle_status"
                entity.fields.setdefault(entity.status_field, Field(entity.status_field, "str",
                                                                    f"Where the {entity.label} is in its life cycle"))
        if plan.kind in (GET, LIST, CREATE, UPDATE):
            harvest_returns(plan)
        plans.append(plan)
    return DomainModel(entities, plans)


def assign_roles(plan: ToolPlan) -> None:
    for p in plan.params:
        if p.role:
            continue
        snake = N.identifier(p.original)
        if snake in QUERY_PARAMS and p.type == "str" and plan.kind == LIST:
            p.role = "query"
        elif snake in LIMIT_PARAMS and p.type == "int" and plan.kind == LIST:
            p.role = "limit"
        elif snake in OFFSET_PARAMS and p.type == "int" and plan.kind == LIST:
            p.role = "offset"
        elif snake in NAME_PARAMS and p.type == "str" and plan.kind in (CREATE, UPDATE):
            p.role = "label"


def map_fields(plan: ToolPlan) -> None:
    """Point parameters at entity fields, adding fields the entity does not have yet."""
    entity = plan.entity
    for p in plan.params:
        if p.role in ("key", "query", "limit", "offset", "label") or is_transport(p.original) or \
                p.name == "last_action":
            continue
        if p.name in ("id", "name"):  # the record's own key and name: a check or a filter, never assigned
            p.field = p.name if p.type == "str" else None
            continue
        f = entity.fields.get(p.name)
        if f is None and len(entity.fields) < MAX_FIELDS:
            f = entity.fields[p.name] = Field(p.name, p.type, p.description, p.enum, list(p.examples),
                                              (p.minimum, p.maximum, p.min_len, p.max_len))
        if f is not None and f.type == p.type:
            p.field = f.name


def choose_selector(plan: ToolPlan) -> None:
    """A required parameter to find the record by, when there is no key: one whose constraints
    cannot reject the field's seed values (no bounds, and no enum other than the field's)."""
    for p in plan.params:
        f = plan.entity.fields.get(p.field or "")
        free = p.minimum is None and p.maximum is None and not p.min_len and not p.max_len and \
            (p.enum is None or (f is not None and p.enum == f.enum))
        if p.required and p.field and p.type in ("str", "int") and not p.role and free:
            p.role = "selector"
            plan.selector = p
            return


def harvest_returns(plan: ToolPlan) -> None:
    entity = plan.entity
    for original, schema in list(object_properties(plan.tool.returns).items())[:16]:
        name = N.keep_or_identifier(original, fallback="f")
        ftype = base_type(schema)
        if len(entity.fields) >= MAX_FIELDS or name in entity.fields or name in ("id", "name", "last_action") or \
                is_noise(original) or not explicitly_scalar(schema):
            continue
        if ftype in SCALARS or ftype.startswith("list<"):
            desc = N.text((schema or {}).get("description") or "", 200) if isinstance(schema, dict) else ""
            entity.fields[name] = Field(name, ftype, desc)
