"""`envdsl synth` readers: JSONL tool records, OpenAI function lists, OpenAPI documents (JSON and YAML)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from envdsl.synth.sources import SourceError, Tool, read_inputs

OPENAPI_YAML = """
openapi: 3.0.0
info: {title: Pet Store, description: Pets for sale}
paths:
  /pets/{petId}:
    parameters:
      - {name: petId, in: path, schema: {type: string}, description: The pet's id}
    get:
      operationId: getPetById
      summary: Get a pet
      parameters:
        - {name: Authorization, in: header, schema: {type: string}}
        - {name: "$select", in: query, schema: {type: array, items: {type: string}}}
      responses:
        "200":
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Pet"}
    delete:
      responses: {"204": {description: gone}}
  /pets:
    post:
      operationId: createPet
      requestBody:
        required: true
        content:
          application/json:
            schema: {$ref: "#/components/schemas/Pet"}
      responses: {"201": {description: made}}
components:
  schemas:
    Pet:
      type: object
      required: [name]
      properties:
        name: {type: string}
        tag: {type: string, enum: [dog, cat]}
        owner: {$ref: "#/components/schemas/Pet"}
"""


def test_openapi_yaml_one_tool_per_operation(tmp_path: Path) -> None:
    (tmp_path / "pets.yaml").write_text(OPENAPI_YAML)
    tools = {t.name: t for t in read_inputs([tmp_path / "pets.yaml"])}
    # path-level parameters are shared, the auth header is dropped, names without operationId come from the route
    assert sorted(tools) == ["create_pet", "delete_pets_pet_id", "get_pet_by_id"]
    get = tools["get_pet_by_id"]
    assert (get.api, get.source, get.http_method) == ("Pet Store", "openapi", "get")
    assert sorted(get.properties) == ["$select", "petId"]
    assert get.required == ["petId"]
    assert get.returns["properties"]["tag"]["enum"] == ["dog", "cat"]
    # a recursive $ref is inlined to a fixed depth, then stubbed
    owner = get.returns["properties"]["owner"]
    assert owner["properties"]["owner"]["properties"]["owner"]["description"].startswith("see #/components")
    create = tools["create_pet"]
    assert sorted(create.properties) == ["name", "owner", "tag"] and create.required == ["name"]
    assert tools["delete_pets_pet_id"].http_method == "delete"


def test_openapi_json_and_function_list(tmp_path: Path) -> None:
    doc = {"swagger": "2.0", "info": {"title": "Notes"}, "paths": {"/notes": {"post": {
        "operationId": "add_note", "parameters": [{"name": "body", "in": "body", "schema": {
            "type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}],
        "responses": {"200": {"schema": {"type": "object", "properties": {"id": {"type": "string"}}}}}}}}}
    (tmp_path / "notes.json").write_text(json.dumps(doc))
    fns = [{"type": "function", "function": {"name": "get_weather", "description": "Weather",
                                             "parameters": {"type": "object", "properties": {"city": {
                                                 "type": "string"}}, "required": ["city"]}}},
           {"name": "get_time", "parameters": {"type": "object", "properties": {}}}]
    (tmp_path / "weather.json").write_text(json.dumps(fns))
    tools = read_inputs([tmp_path])  # a folder: every file in name order
    assert [(t.source, t.api, t.name) for t in tools] == [
        ("openapi", "Notes", "add_note"), ("functions", "weather", "get_weather"), ("functions", "weather", "get_time")]
    assert tools[0].required == ["text"] and tools[0].returns["properties"]["id"]["type"] == "string"
    assert tools[1].required == ["city"]


def test_jsonl_plain_and_gzip_with_unique_ids(tmp_path: Path) -> None:
    rec = {"id": "x/a/t", "source": "x", "api": "a", "name": "t", "parameters": {"type": "object", "properties": {}}}
    (tmp_path / "one.jsonl").write_text(json.dumps(rec) + "\n\n")
    with gzip.open(tmp_path / "two.jsonl.gz", "wt") as fh:
        fh.write(json.dumps({**rec, "description": "again"}) + "\n")
    tools = read_inputs([tmp_path / "one.jsonl", tmp_path / "two.jsonl.gz"])
    assert [t.id for t in tools] == ["x/a/t", "x/a/t#2"]
    assert tools[1].description == "again"
    assert Tool.from_json(tools[0].to_json()) == tools[0]


def test_unknown_shapes_are_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"hello": 1}')
    with pytest.raises(SourceError, match="neither an OpenAPI document"):
        read_inputs([tmp_path / "bad.json"])
    (tmp_path / "bad.jsonl").write_text('{"no": "id"}\n')
    with pytest.raises(SourceError, match="bad.jsonl:1"):
        read_inputs([tmp_path / "bad.jsonl"])
