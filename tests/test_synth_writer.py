"""The heuristic writer: specs that compile for real tools of every shared collection, sanitised names,
and seeds on which the tools work (a get with a key from the seed returns that record)."""

from __future__ import annotations

import gzip
import json
from collections import defaultdict
from itertools import islice
from pathlib import Path

import pytest

from envdsl.synth.gate import check_spec_dir, compile_spec
from envdsl.synth.sources import Tool
from envdsl.synth.writer_heuristic import write_domain

TOOLS_DIR = Path(__file__).resolve().parents[2] / "shared" / "data" / "tools"
SOURCE_FILES = sorted(TOOLS_DIR.glob("*.jsonl.gz"))


def first_apis(path: Path, apis: int = 3, per_api: int = 10, lines: int = 1500) -> list[list[Tool]]:
    """Up to `per_api` tools of the first `apis` APIs in a file: read from its start only (fast)."""
    groups: dict[str, list[Tool]] = defaultdict(list)
    with gzip.open(path, "rt", encoding="utf-8") as fh:
        for line in islice(fh, lines):
            t = Tool.from_json(json.loads(line))
            if t.api in groups or len(groups) < apis:
                groups[t.api].append(t)
    return [ts[:per_api] for ts in groups.values()]


def write(tmp_path: Path, name: str, tools: list[Tool]) -> tuple[Path, object]:
    files = write_domain(name, tools)
    spec = tmp_path / f"{name}.env"
    spec.write_text(files.spec, encoding="utf-8")
    (tmp_path / f"{name}.seed.json").write_text(files.seed_json(), encoding="utf-8")
    return spec, files


def test_the_shared_collections_are_there() -> None:
    # the next test is parametrised over these files: without them it would prove nothing
    assert len(SOURCE_FILES) >= 6, f"expected the tool collections in {TOOLS_DIR}"


@pytest.mark.parametrize("path", SOURCE_FILES, ids=lambda p: p.name.split(".")[0] + p.name.split(".")[1][-2:])
def test_specs_compile_for_real_tools_of_each_file(tmp_path: Path, path: Path) -> None:
    for i, tools in enumerate(first_apis(path)):
        spec, files = write(tmp_path, f"d{i}", tools)
        compiled, diagnostics = compile_spec(spec)
        assert compiled is not None, diagnostics
        assert len(compiled.ir["tools"]) == len(tools)


def test_names_are_sanitised_and_originals_kept(tmp_path: Path) -> None:
    t = Tool(id="x/a/1", source="x", api="My API (v2)", name="Get User Info", description='Say "hi" \\ now',
             parameters={"type": "object", "required": ["user id"], "properties": {
                 "user id": {"type": "string"}, "$filter": {"type": "string"}, "filter[x]": {"type": "integer"},
                 "from": {"type": "string"}, "len": {"type": "integer"}, "rows": {"type": "string"}}})
    spec, files = write(tmp_path, "d_names", [t])
    assert compile_spec(spec)[0] is not None
    text = spec.read_text()
    assert "read tool get_user_info(" in text
    for renamed, original in [("user_id", "user id"), ("filter", "$filter"), ("filter_x", "filter[x]"),
                              ("from_", "from"), ("len_arg", "len"), ("rows_arg", "rows")]:
        assert f"{renamed}: " in text and f"(API name: {original})" in text, renamed
    assert 'Say \\"hi\\" \\\\ now' in text


CRUD = [
    Tool(id="c/shop/get_order", source="c", api="shop", name="get_order", parameters={
        "type": "object", "properties": {"orderId": {"type": "integer"}}, "required": ["orderId"]},
        returns={"type": "object", "properties": {"total": {"type": "number"}, "status": {"type": "string"}}}),
    Tool(id="c/shop/list_orders", source="c", api="shop", name="list_orders", parameters={
        "type": "object", "properties": {"status": {"type": "string"}, "limit": {"type": "integer"}}}),
    Tool(id="c/shop/create_order", source="c", api="shop", name="create_order", parameters={
        "type": "object", "properties": {"total": {"type": "number"}}, "required": ["total"]}),
    Tool(id="c/shop/update_order", source="c", api="shop", name="update_order", parameters={
        "type": "object", "properties": {"orderId": {"type": "integer"}, "status": {"type": "string"}},
        "required": ["orderId"]}),
    Tool(id="c/shop/delete_order", source="c", api="shop", name="delete_order", parameters={
        "type": "object", "properties": {"orderId": {"type": "integer"}}, "required": ["orderId"]}),
]


def test_tools_work_on_the_seed(tmp_path: Path) -> None:
    from envdsl.session import environment_from_spec

    spec, files = write(tmp_path, "d_shop", CRUD)
    env = environment_from_spec(spec)
    seed = env.state()["orders"]
    assert list(seed) == ["1001", "1002", "1003"]  # int keys in the API: numeric keys in the seed
    got = env.call("get_order", {"orderId": 1002})
    assert got.ok and json.loads(got.content) == seed["1002"]
    assert not env.call("get_order", {"orderId": 7}).ok
    listed = json.loads(env.call("list_orders", {"status": seed["1001"]["status"]}).content)
    assert [o["id"] for o in listed] == [k for k, o in seed.items() if o["status"] == seed["1001"]["status"]]
    assert json.loads(env.call("list_orders", {"limit": 2}).content) == [seed["1001"], seed["1002"]]
    made = json.loads(env.call("create_order", {"total": 9.5}).content)
    assert (made["id"], made["total"]) == ("1004", 9.5)
    updated = json.loads(env.call("update_order", {"orderId": 1004, "status": "paid"}).content)
    assert (updated["status"], updated["last_action"]) == ("paid", "update_order")
    assert env.call("delete_order", {"orderId": 1004}).content == "Deleted order 1004"
    assert list(env.state()["orders"]) == ["1001", "1002", "1003"]
    # the probes the gate runs: one get per key, with a key of the seed
    assert files.probes == [{"tool": "get_order", "args": {"orderId": 1001}}]
    assert check_spec_dir(spec, mode="proptest", examples=2, probes=files.probes).accepted


def test_source_parameters_the_writer_drops_are_reported(tmp_path: Path) -> None:
    """The writer keeps 24 parameters at most; the gate's coverage check (F0109) sees the source's
    others, and leaves transport parameters (credentials, versions) aside."""
    props = {f"field{i}": {"type": "string"} for i in range(30)}
    props.update({"orderId": {"type": "string"}, "api_key": {"type": "string"}})
    big = Tool(id="x/1", source="x", api="shop", name="update_order", parameters={
        "type": "object", "properties": props, "required": ["orderId"]})
    spec, files = write(tmp_path, "d_big", [big, CRUD[0]])
    verdict = check_spec_dir(spec, mode="smoke", probes=files.probes, sources=files.sources)
    assert verdict.counts.get("F0109") == 7 and "api_key" not in " ".join(verdict.details)
    assert "# transport parameters left out: api_key" in spec.read_text()
