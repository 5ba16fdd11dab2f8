"""Dates and datetimes (issue 15): literals checked against the calendar, arithmetic in days and
seconds, the fixed clock, validation of tool arguments and seeds, JSON schemas, sampling, and that
date text from specs and seeds reaches generated code only as escaped literals."""

from __future__ import annotations

import json
import random
from pathlib import Path
from typing import Any

import pytest
from testkit import REPO, check_text, compile_to, env_class_from_text

from envdsl.lang.dates import literal_problem
from envdsl.runtime import dates as rd
from envdsl.runtime.generate import generate_state
from envdsl.runtime.loader import load_environment_class


EXAMPLE = REPO / "docs" / "examples" / "loans" / "loans.env"  # the worked example of docs/language.md
LOANS = EXAMPLE


@pytest.fixture(scope="module")
def loans_out() -> Path:
    return compile_to(LOANS)


@pytest.fixture
def env(loans_out: Path) -> Any:
    return load_environment_class(loans_out / "loans")()


def ok(result: Any) -> Any:
    assert result.ok, result.content
    return result.content


# ---- the front end and the runtime agree on what a date is -------------------------------------
SAMPLES = ["2024-02-29", "2023-02-29", "2024-02-30", "2024-13-01", "2024-00-10", "2024-5-1", "0000-01-01",
           "9999-12-31", "2024-05-01T09:30:00", "2024-05-01T24:00:00", "2024-05-01T09:30", "2024-05-01 09:30:00",
           "2024-05-01T09:30:00Z", "2024-05-01T09:30:00.5", "", "x", "２０２４-01-01"]


@pytest.mark.parametrize("text", SAMPLES)
def test_compile_time_and_run_time_agree(text: str) -> None:
    at_compile = literal_problem(text, "date") is None
    try:
        rd.parse_date(text)
        at_run = True
    except Exception:  # noqa: BLE001 - ToolError: the run-time verdict
        at_run = False
    assert at_compile == at_run, text


def test_runtime_accepts_only_the_canonical_forms() -> None:
    assert rd.date_problem("2024-02-29") is None
    assert "not a day of the calendar" in (rd.date_problem("2023-02-29") or "")
    assert rd.datetime_problem("2024-05-01T09:30:00") is None
    for bad in ("2024-05-01T09:30:00Z", "2024-05-01 09:30:00", "2024-05-01T09:30:00.000", "2024-05-01"):
        assert rd.datetime_problem(bad) is not None, bad
    assert rd.date_add("2024-02-28", 1) == "2024-02-29"
    assert rd.date_add("2023-02-28", 1) == "2023-03-01"
    assert rd.date_sub("2024-03-01", 1) == "2024-02-29"
    assert rd.date_diff("2025-01-01", "2024-01-01") == 366
    assert rd.datetime_add("2024-12-31T23:59:30", 45) == "2025-01-01T00:00:15"
    assert rd.datetime_diff("2024-01-02T00:00:00", "2024-01-01T23:00:00") == 3600
    assert rd.add_months("2024-01-31", 1) == "2024-02-29" and rd.add_months("2023-01-31", 1) == "2023-02-28"
    assert rd.add_months("2024-03-31", -1) == "2024-02-29" and rd.add_months("2023-12-15", 1) == "2024-01-15"
    assert rd.add_months("2024-11-30T08:00:00", 3) == "2025-02-28T08:00:00"
    with pytest.raises(Exception, match="outside the calendar"):
        rd.add_months("9999-12-01", 1)


# ---- tools: arguments, arithmetic, failures rolled back ----------------------------------------
def test_date_argument_is_validated_and_a_bad_one_is_a_clean_tool_error(env: Any) -> None:
    before = env.state_hash()
    r = env.call("lend", {"loan_id": "L9", "member": "cy", "start": "2024-02-30"})
    assert not r.ok and not r.internal_error
    assert r.content == "Error: invalid arguments for lend: start: '2024-02-30' is not a day of the calendar"
    r = env.call("lend", {"loan_id": "L9", "member": "cy", "start": "2024-02-20T00:00:00"})
    assert not r.ok and "is not a date in the form YYYY-MM-DD" in r.content
    assert env.state_hash() == before


def test_date_arithmetic_and_the_fixed_clock(env: Any) -> None:
    loan = json.loads(ok(env.call("lend", {"loan_id": "L9", "member": "cy", "start": "2024-02-20"})))
    assert loan["due"] == "2024-03-05"  # 14 days, across a leap day
    assert loan["lent_at"] == "2024-01-01T00:00:00"  # now(): the default clock
    assert ok(env.call("extend", {"loan_id": "L2", "days": 1})) == "2025-01-01"  # raw text, not JSON
    assert ok(env.call("days_late", {"loan_id": "L1", "on": "2024-03-10"})) == "11"
    assert ok(env.call("days_late", {"loan_id": "L1", "on": "2024-02-01"})) == "0"
    assert json.loads(ok(env.call("due_before", {"day": "2024-03-01"}))) == ["L1"]
    assert env.state()["loans"]["L9"]["due"] == "2024-03-05"


def test_parsing_text_fails_like_a_lookup_and_rolls_back(env: Any) -> None:
    before = env.state_hash()
    r = env.call("days_late", {"loan_id": "L1", "on": "2024-02-30"})
    assert (r.ok, r.internal_error, r.content) == (False, False, "Error: '2024-02-30' is not a day of the calendar")
    r = env.call("days_late", {"loan_id": "L1", "on": "__import__('os')"})
    assert not r.ok and not r.internal_error and "is not a date in the form YYYY-MM-DD" in r.content
    assert env.state_hash() == before


def test_now_and_today_read_the_clock_and_a_bad_clock_is_refused(loans_out: Path) -> None:
    cls = load_environment_class(loans_out / "loans")
    env = cls(clock="2030-06-15T08:00:00")
    loan = json.loads(ok(env.call("lend", {"loan_id": "L9", "member": "cy", "start": "2030-06-15"})))
    assert loan["lent_at"] == "2030-06-15T08:00:00"
    with pytest.raises(ValueError, match="clock: 'tomorrow' is not a datetime"):
        cls(clock="tomorrow")


def test_a_spec_that_leaves_the_calendar_fails_the_call(tmp_path: Path) -> None:
    cls = env_class_from_text('''
        domain edge
        read tool later(d: date, n: int) -> date { return d + n }
        read tool parts(t: datetime) -> str { return f"{year(t)}/{month(t)}/{day(t)} {weekday(t)} {date(t)}" }
    ''', tmp_path)
    env = cls()
    r = env.call("later", {"d": "9999-12-31", "n": 1})
    assert not r.ok and not r.internal_error and "outside the calendar" in r.content
    assert ok(env.call("later", {"d": "2024-01-31", "n": 29})) == "2024-02-29"
    assert ok(env.call("parts", {"t": "2024-05-05T23:59:59"})) == "2024/5/5 6 2024-05-05"


# ---- seeds, schemas and the IR ------------------------------------------------------------------
def test_a_seed_with_an_impossible_date_is_refused(tmp_path: Path) -> None:
    seed = json.loads((EXAMPLE.with_name("loans.seed.json")).read_text())
    seed["loans"]["L1"]["due"] = "2024-02-30"
    folder = tmp_path / "bad"
    folder.mkdir()
    (folder / "loans.seed.json").write_text(json.dumps(seed))
    (folder / "loans.env").write_text(LOANS.read_text())
    bag = check_text(LOANS.read_text(), folder, "loans")
    shown = bag.render()
    assert "E0503" in shown and "loans['L1'].due: '2024-02-30' is not a day of the calendar" in shown


def test_tools_json_publishes_string_formats(env: Any) -> None:
    schemas = {s["function"]["name"]: s["function"]["parameters"]["properties"] for s in env.tool_schemas()}
    assert schemas["lend"]["start"] == {"type": "string", "format": "date"}
    assert schemas["due_before"]["day"] == {"type": "string", "format": "date"}
    ir = type(env).ir()
    loan = next(r for r in ir["records"] if r["name"] == "Loan")
    assert [f["type"] for f in loan["fields"] if f["name"] in ("due", "lent_at")] == [{"k": "date"}, {"k": "datetime"}]


def test_datetime_fields_and_defaults(tmp_path: Path) -> None:
    cls = env_class_from_text('''
        domain stamps
        const START: datetime = datetime("2024-05-01T09:00:00")
        record Visit { visit_id: str  at: datetime = "2024-05-01T09:00:00"  day: date = "2024-05-01" }
        state { visits: collection<Visit> by visit_id }
        write tool visit(visit_id: str, minutes: int) -> Visit "Record a visit some minutes after opening." {
          let v = Visit(visit_id=visit_id, at=START + minutes * 60)
          insert visits[visit_id] = v
          return v
        }
    ''', tmp_path)
    out = json.loads(ok(cls().call("visit", {"visit_id": "v1", "minutes": 90})))
    assert out == {"visit_id": "v1", "at": "2024-05-01T10:30:00", "day": "2024-05-01"}


# ---- generated states, sampled arguments and realism give real days -----------------------------
def test_generated_states_hold_calendar_days(loans_out: Path) -> None:
    cls = load_environment_class(loans_out / "loans")
    for seed in range(5):
        state = generate_state(cls, seed)
        for loan in state["loans"].values():
            assert rd.date_problem(loan["due"]) is None and rd.datetime_problem(loan["lent_at"]) is None
        assert generate_state(cls, seed) == state  # deterministic


def test_realism_hook_and_argument_drawing_give_dates(loans_out: Path) -> None:
    from envdsl.tasks.realism import RealisticValues

    hook = RealisticValues()
    rng = random.Random(3)
    due = hook("due", "Loan", {"k": "date"}, {}, rng)
    born = hook("birth_date", "Member", {"k": "date"}, {}, rng)
    at = hook("lent_at", "Loan", {"k": "datetime"}, {}, rng)
    assert rd.date_problem(due) is None and "2024-01-01" <= due <= "2025-12-31"
    assert rd.date_problem(born) is None and born < "2007-01-01"
    assert rd.datetime_problem(at) is None
    cls = load_environment_class(loans_out / "loans")
    state = generate_state(cls, 0, values=RealisticValues())
    assert all(rd.date_problem(x["due"]) is None for x in state["loans"].values())


def test_sampled_tasks_use_valid_dates(loans_out: Path) -> None:
    from envdsl.tasks.sampler import SampleConfig, TaskSampler

    cls = load_environment_class(loans_out / "loans")
    tasks = TaskSampler(cls(), SampleConfig(min_calls=1, max_calls=3), seed=1).sample(30)
    calls = [json.loads(c["arguments"]) for t in tasks for c in t["gold_calls"]]  # arguments are JSON text
    dated = [args[p] for args in calls for p in ("start", "day") if p in args]
    assert dated, "no task drew a date argument"
    assert all(rd.date_problem(d) is None for d in dated)


# ---- safety: date text reaches generated code only as an escaped literal ----------------------
def test_a_hostile_date_literal_never_reaches_code(tmp_path: Path) -> None:
    bag = check_text('''
        domain hostile
        read tool f() -> date { return date("2024-01-01'); __import__('os').system('touch x') #") }
    ''', tmp_path)
    assert "E0901" in bag.render()


def test_date_literals_are_escaped_in_generated_code(loans_out: Path) -> None:
    import ast
    import re

    tools = (loans_out / "loans" / "tools.py").read_text()
    tree = ast.parse(tools)
    constants = [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)]
    # every date text of the spec is a string constant of the generated module, nowhere else
    for text in set(re.findall(r"\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}:\d{2})?", tools)):
        spelled = tools.count(repr(text)[1:-1])
        assert spelled == sum(c.count(text) for c in constants), text
    assert "'2024-01-01'" in tools  # const OPENING: date = date("2024-01-01")
    assert "2024-02-28" not in tools and "2024-12-17T16:30:00" not in tools  # seed values stay in seed.json
    assert "rt.to_enum(" in tools and "['open', 'returned']" in tools


def test_the_property_gate_passes_the_example(loans_out: Path) -> None:
    from envdsl.proptest.domain import Domain
    from envdsl.proptest.runner import Options, gate_domain

    cls = load_environment_class(loans_out / "loans")
    result = gate_domain(Domain(cls.DOMAIN, cls, "test"), Options(examples=8, seed=0))
    assert result.failures == []
    assert {"schema_accepts_valid", "schema_rejects_invalid", "output_matches_return_type"} <= result.properties


def test_a_date_compares_with_a_literal_of_its_form_only(tmp_path: Path) -> None:
    source = '''
        domain cmp
        read tool early(d: date) -> bool "Before March?" { return d < "2024-03-01" and d != "2024-02-29" }
    '''
    env = env_class_from_text(source, tmp_path / "ok")()
    assert [env.call("early", {"d": d}).content for d in ("2024-02-28", "2024-02-29", "2024-03-01")] == \
        ["true", "false", "false"]
    shown = check_text(source.replace('"2024-02-29"', '"2024-02-30"'), tmp_path / "bad").render()
    assert "E0901" in shown and "'2024-02-30' is not a day of the calendar" in shown
