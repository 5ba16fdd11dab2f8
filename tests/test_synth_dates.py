"""The heuristic synth writer types `format: date` / `date-time` fields as `date` / `datetime` (issue 15),
seeds them with real calendar days, and the property and fidelity gates accept what it writes."""

from __future__ import annotations

import json
from pathlib import Path

from envdsl.runtime.dates import date_problem, datetime_problem
from envdsl.synth.gate import check_spec_dir
from envdsl.synth.infer import base_type, make_param
from envdsl.synth.sources import Tool
from envdsl.synth.writer_heuristic import write_domain

DAY = {"type": "string", "format": "date", "description": "Day of arrival"}
MOMENT = {"type": "string", "format": "date-time"}
BOOKINGS = [
    Tool(id="c/inn/get_booking", source="c", api="inn", name="get_booking", parameters={
        "type": "object", "properties": {"bookingId": {"type": "integer"}}, "required": ["bookingId"]},
        returns={"type": "object", "properties": {"checkIn": DAY, "createdAt": MOMENT, "nights": {"type": "integer"}}}),
    Tool(id="c/inn/list_bookings", source="c", api="inn", name="list_bookings", parameters={
        "type": "object", "properties": {"checkIn": DAY, "limit": {"type": "integer"}}}),
    Tool(id="c/inn/create_booking", source="c", api="inn", name="create_booking", parameters={
        "type": "object", "properties": {"checkIn": {**DAY, "example": "2024-07-01T00:00:00Z"},
                                         "nights": {"type": "integer"}}, "required": ["checkIn", "nights"]}),
    Tool(id="c/inn/update_booking", source="c", api="inn", name="update_booking", parameters={
        "type": "object", "properties": {"bookingId": {"type": "integer"}, "checkIn": DAY},
        "required": ["bookingId"]}),
]


def test_schema_formats_become_date_types() -> None:
    assert base_type(DAY) == "date" and base_type(MOMENT) == "datetime"
    assert base_type({"type": ["string", "null"], "format": "date"}) == "date"
    assert base_type({"type": "string", "format": "email"}) == "str"
    assert base_type({"type": "array", "items": DAY}) == "list<date>"
    # an example that is not in the language's form is dropped rather than kept to fail the check
    assert make_param("d", {**DAY, "example": "2024-07-01T00:00:00Z"}, True).examples == []
    assert make_param("d", {**DAY, "example": "2024-07-01"}, True).examples == ["2024-07-01"]


def test_writer_declares_date_fields_seeds_real_days_and_passes_the_gates(tmp_path: Path) -> None:
    from envdsl.session import environment_from_spec

    files = write_domain("d_inn", BOOKINGS)
    assert "checkIn: date" in files.spec and "createdAt: datetime" in files.spec
    spec = tmp_path / "d_inn.env"
    spec.write_text(files.spec, encoding="utf-8")
    (tmp_path / "d_inn.seed.json").write_text(files.seed_json(), encoding="utf-8")
    env = environment_from_spec(spec)
    seed = env.state()["bookings"]
    assert all(date_problem(b["checkIn"]) is None and datetime_problem(b["createdAt"]) is None for b in seed.values())
    first = next(iter(seed.values()))
    listed = json.loads(env.call("list_bookings", {"checkIn": first["checkIn"]}).content)
    assert [b["id"] for b in listed] == [k for k, b in seed.items() if b["checkIn"] == first["checkIn"]]
    bad = env.call("create_booking", {"checkIn": "2024-02-30", "nights": 2})
    assert not bad.ok and not bad.internal_error and "not a day of the calendar" in bad.content
    made = json.loads(env.call("create_booking", {"checkIn": "2024-02-29", "nights": 2}).content)
    assert made["checkIn"] == "2024-02-29"
    verdict = check_spec_dir(spec, mode="proptest", examples=3, probes=files.probes, sources=files.sources)
    assert verdict.accepted, verdict
