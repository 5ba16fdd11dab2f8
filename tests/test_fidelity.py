"""The fidelity gate (F0101-F0110, envdsl/proptest/fidelity.py): each check catches the kind of
unfaithful tool it exists for, with a reproduction, stays quiet on a faithful one, and can be
silenced in a spec only with a written reason. Also the lemmatiser's reading of verbs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from testkit import run_cli

from envdsl.proptest.domain import Domain
from envdsl.proptest.fidelity import fidelity_checks, is_placeholder
from envdsl.proptest.verbs import tool_verb
from envdsl.session import environment_from_spec

HEAD = '''domain shop "A small shop"
seed "shop.seed.json"
record Item {
  item_id: str
  name: str
  sku: str
  price: float
  status: str = "active"
}
state { items: collection<Item> by item_id }
fn find(item_id: str) -> Item { return items[item_id] ?? fail f"Item {item_id} not found" }
'''
SEED = {"items": {
    "i1": {"item_id": "i1", "name": "Blue kettle", "sku": "KT-1042", "price": 24.5, "status": "active"},
    "i2": {"item_id": "i2", "name": "Oak chair", "sku": "CH-7731", "price": 89.0, "status": "active"},
    "i3": {"item_id": "i3", "name": "Wool rug", "sku": "RG-2210", "price": 140.25, "status": "active"}}}
FAITHFUL = '''
read tool get_item(item_id: str) -> Item "Get an item." { return find(item_id) }
read tool find_item_by_sku(sku: str) -> Item "Find an item by its SKU." {
  let found = first([x.item_id for x in items if x.sku == sku]) ?? fail f"No item with SKU {sku}"
  return find(found)
}
write tool update_price(item_id: str, price: float @min(0)) -> Item "Change an item's price." {
  let it = find(item_id)
  it.price = price
  return it
}
write tool cancel_item(item_id: str) -> Item "Withdraw an item from sale." {
  let it = find(item_id)
  require it.status != "cancelled" else "already cancelled"
  it.status = "cancelled"
  return it
}
'''


def domain(tmp_path: Path, tools: str, seed: dict | None = None, head: str = HEAD) -> Domain:
    spec = tmp_path / "shop.env"
    spec.write_text(head + tools, encoding="utf-8")
    (tmp_path / "shop.seed.json").write_text(json.dumps(seed or SEED), encoding="utf-8")
    env = environment_from_spec(spec)
    return Domain("shop", type(env), spec.as_posix())


def findings(tmp_path: Path, tools: str, seed: dict | None = None, head: str = HEAD) -> dict[str, list]:
    out: dict[str, list] = {}
    for f in fidelity_checks(domain(tmp_path, tools, seed, head)):
        out.setdefault(f.property, []).append(f)
    return out


def test_a_faithful_domain_has_no_finding(tmp_path: Path) -> None:
    assert findings(tmp_path, FAITHFUL) == {}


def test_a_parameter_never_read_is_reported_statically(tmp_path: Path) -> None:
    got = findings(tmp_path, FAITHFUL + '''
read tool get_item_in(item_id: str, currency: str) -> Item "Get an item in a currency." { return find(item_id) }
''')
    assert list(got) == ["F0101"]
    assert got["F0101"][0].test == "fidelity get_item_in" and "'currency'" in got["F0101"][0].actual


def test_a_parameter_that_changes_nothing_is_a_stub(tmp_path: Path) -> None:
    # read, but to no effect: `discount` is multiplied by zero
    got = findings(tmp_path, FAITHFUL + '''
read tool quote(item_id: str, discount: float @min(0) @max(1)) -> float "Quote an item's price after a discount." {
  return find(item_id).price * (1.0 - discount * 0.0)
}
''')
    assert list(got) == ["F0102"]
    f = got["F0102"][0]
    assert "'discount'" in f.actual and f.calls and f.calls[0]["tool"] == "quote"  # a reproduction


def test_write_verbs_on_read_tools_and_read_verbs_on_writes(tmp_path: Path) -> None:
    got = findings(tmp_path, FAITHFUL + '''
read tool sell_item(item_id: str) -> Item "Sell an item." { return find(item_id) }
write tool show_item(item_id: str) -> Item "Show an item." {
  let it = find(item_id)
  it.status = "shown"
  return it
}
''')
    assert sorted(f.test for f in got["F0103"]) == ["fidelity sell_item", "fidelity show_item"]


def test_an_update_that_inserts_and_a_cancel_that_sets_no_status(tmp_path: Path) -> None:
    got = findings(tmp_path, FAITHFUL + '''
write tool update_item(name: str) -> Item "Update an item." {
  let key = new_id(items, "i")
  insert items[key] = Item(item_id=key, name=name, sku="NEW-1", price=1.0)
  return items[key]
}
write tool close_item(item_id: str, price: float @min(0)) -> Item "Close an item." {
  let it = find(item_id)
  it.price = price
  return it
}
''')
    problems = {f.test: f.actual for f in got["F0104"]}
    assert "inserts" in problems["fidelity update_item"]
    assert "changes no status" in problems["fidelity close_item"]


def test_a_lookup_that_never_resolves_from_the_seed(tmp_path: Path) -> None:
    # the items are keyed i1.., but the tool looks them up by a made-up form of key
    got = findings(tmp_path, FAITHFUL + '''
read tool item_info(code: str) -> Item "Item by code." { return items[f"item_{code}"] ?? fail "not found" }
''')
    assert [f.test for f in got["F0105"]] == ["fidelity item_info"]


def test_records_without_data_placeholders_and_constant_numbers(tmp_path: Path) -> None:
    head = HEAD.replace("record Item {", "record Tag { tag_id: str\n name: str }\nrecord Item {").replace(
        "state { items: collection<Item> by item_id }",
        "state { items: collection<Item> by item_id\n tags: collection<Tag> by tag_id }")
    rows = enumerate(SEED["items"].items())
    seed = {"items": {k: {**v, "name": f"Item {i + 1}", "price": 12.5} for i, (k, v) in rows},
            "tags": {"t1": {"tag_id": "t1", "name": "red"}}}
    got = findings(tmp_path, FAITHFUL, seed, head)
    assert [f.test for f in got["F0106"]] == ["fidelity tags"]
    assert "items.name" in got["F0107"][0].actual
    assert "items.price is 12.5" in got["F0108"][0].actual


def test_source_parameters_and_response_fields(tmp_path: Path) -> None:
    d = domain(tmp_path, FAITHFUL)
    sources = {"get_item": {"params": {"itemId": {"name": "itemId", "type": "str"}},
                            "returns": ["price", "weight"]}}
    got = {f.property: f.actual for f in fidelity_checks(d, sources)}
    assert "'itemId'" in got["F0109"] and "weight" in got["F0110"] and "price" not in got["F0110"]


def test_a_spec_silences_a_finding_only_with_a_reason(tmp_path: Path) -> None:
    tool = '''read tool get_item_in(item_id: str, currency: str) -> Item "Get an item." { return find(item_id) }\n'''
    silenced = "# fidelity: allow F0101 get_item_in: prices are shown in the shop's one currency\n"
    assert findings(tmp_path, FAITHFUL + silenced + tool) == {}
    no_reason = "# fidelity: allow F0101 get_item_in\n"
    assert list(findings(tmp_path, FAITHFUL + no_reason + tool)) == ["F0101"]


def test_envdsl_test_reports_fidelity_findings_per_tool(tmp_path: Path, in_repo: Path) -> None:
    d = tmp_path / "shop"
    d.mkdir()
    (d / "shop.env").write_text(HEAD + FAITHFUL + '''
read tool sell_item(item_id: str) -> Item "Sell an item." { return find(item_id) }
''', encoding="utf-8")
    (d / "shop.seed.json").write_text(json.dumps(SEED), encoding="utf-8")
    code, out, _ = run_cli("test", str(d / "shop.env"), "--examples", "3", "--json")
    assert code == 1
    report = json.loads(out)
    assert [(f["property"], f["test"]) for f in report["failures_detail"]] == [("F0103", "fidelity sell_item")]


def test_the_built_in_specs_pass_the_fidelity_gate(in_repo: Path) -> None:
    from envdsl.proptest.targets import Targets

    with Targets([str(in_repo / "specs")]) as t:
        assert not t.failures
        found = [f.render() for d in t.domains for f in fidelity_checks(d)]
    assert found == []


@pytest.mark.parametrize("name,description,lemma,writes", [
    ("sell_tower", "", "sell", True), ("retweet", "", "retweet", True), ("mkdir", "", "mkdir", True),
    ("resolve_ticket", "", "resolve", True), ("getUserOrders", "", "get", False),
    ("book_flight", "", "book", True), ("Booking", "", "book", True), ("cancelled_orders_list", "", "cancel", True),
    ("weather", "Returns the weather for a city", "return", False),
    ("weather", "Creates a forecast", "create", True),
])
def test_verbs_come_from_the_lemmatiser(name: str, description: str, lemma: str, writes: bool) -> None:
    verb = tool_verb(name, description)
    assert verb is not None and (verb.lemma, verb.writes) == (lemma, writes)


@pytest.mark.parametrize("name", ["get_book", "order_history", "settings", "listings", "check_in", "tags_get"])
def test_nouns_are_not_read_as_writing_verbs(name: str) -> None:
    verb = tool_verb(name)
    assert verb is None or not verb.writes


def test_placeholders() -> None:
    assert is_placeholder("Job 2", "name", "JobPosting", "job_postings")
    assert is_placeholder("job posting id 1", "job_posting_id_label", "Job", "jobs")
    assert not is_placeholder("Senior data engineer", "title", "Job", "jobs")
    assert not is_placeholder("KT-1042", "sku", "Item", "items")


def test_a_compiled_package_keeps_its_specs_silenced_findings(tmp_path: Path, in_repo: Path) -> None:
    """`envdsl test generated/PKG` (what scripts/pipeline.sh runs) has no spec beside it: the compiler
    carries the spec's `# fidelity: allow` comments in the IR, so the package passes like its spec."""
    d = tmp_path / "shop"
    d.mkdir()
    (d / "shop.env").write_text(HEAD + FAITHFUL + '''
# fidelity: allow F0103 sell_item: selling here only shows the sale price, the shop's stock is elsewhere
read tool sell_item(item_id: str) -> Item "Sell an item." { return find(item_id) }
''', encoding="utf-8")
    (d / "shop.seed.json").write_text(json.dumps(SEED), encoding="utf-8")
    code, out, err = run_cli("compile", str(d / "shop.env"), "-o", str(tmp_path / "gen"))
    assert code == 0, err
    ir = json.loads((tmp_path / "gen" / "shop" / "ir.json").read_text(encoding="utf-8"))
    assert ir["fidelity_allow"] == [{"code": "F0103", "tool": "sell_item", "reason":
                                     "selling here only shows the sale price, the shop's stock is elsewhere"}]
    code, out, err = run_cli("test", str(tmp_path / "gen" / "shop"), "--examples", "3", "--json")
    assert code == 0, out + err
