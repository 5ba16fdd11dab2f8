"""Task sampling: the tool graph, executed walks, user facts, provenance, knobs, determinism."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from envdsl.cli import main
from envdsl.llm import ScriptedBackend
from envdsl.session import environment_from_spec
from envdsl.tasks import DomainIndex, SampleConfig, TaskSampler, build_tool_graph, provenance_problems
from envdsl.tasks.goals import OPENERS, llm_goal_writer, template_goal
from envdsl.tasks.graph import cosine
from envdsl.tasks.initial import reset_to_initial

FIXTURES = Path(__file__).parent / "fixtures" / "pipeline"
HELPDESK = str(FIXTURES / "helpdesk.env")
RENTAL = str(FIXTURES / "rental.env")


@pytest.fixture(scope="module")
def helpdesk():
    return environment_from_spec(HELPDESK)


@pytest.fixture(scope="module")
def rental():
    return environment_from_spec(RENTAL)


# ---- the graph

def test_parameters_are_tied_to_the_collections_their_tool_indexes(rental):
    ix = DomainIndex.from_ir(type(rental).ir())
    assert ix.param_entity[("book_car", "car_id")] == "cars"
    assert ix.param_entity[("book_car", "customer_id")] == "customers"
    assert ix.param_entity[("cancel_booking", "booking_id")] == "bookings"
    assert ("book_car", "days") not in ix.param_entity
    assert ("search_cars", "category") not in ix.param_entity


def test_graph_edges_follow_typed_dataflow(helpdesk, rental):
    g = build_tool_graph(type(rental).ir())
    # search_cars returns Car records (the record of collection cars): their car_id feeds book_car
    assert g["search_cars"]["book_car"]["reasons"] == {"car_id": "key"}
    assert g["book_car"]["cancel_booking"]["reasons"] == {"booking_id": "key"}
    assert g["book_car"]["get_booking"]["reasons"] == {"booking_id": "key"}
    # a list of cars says nothing about bookings
    assert not g.has_edge("search_cars", "get_booking")
    assert not g.has_edge("search_cars", "cancel_booking")
    h = build_tool_graph(type(helpdesk).ir())
    assert h["find_user_by_email"]["open_ticket"]["reasons"] == {"user_id": "key"}
    assert h["open_ticket"]["add_comment"]["reasons"] == {"ticket_id": "key"}
    # Ticket has a ref<users> field: a ticket's user feeds list_user_tickets
    assert h["get_ticket"]["list_user_tickets"]["reasons"] == {"user_id": "ref"}
    for _, _, d in h.edges(data=True):
        assert 0 < d["weight"] <= 1


def test_cosine_of_bags_of_words():
    assert cosine(Counter({"ticket": 1, "id": 1}), Counter({"ticket": 1})) == pytest.approx(2 ** -0.5)
    assert cosine(Counter({"car": 2}), Counter({"ticket": 1})) == 0.0
    assert cosine(Counter(), Counter({"a": 1})) == 0.0


# ---- sampled tasks are executable and sound

def _replay(env, task):
    reset_to_initial(env, task["initial"])  # generated states are remade with the realistic value hook
    assert env.state_hash() == task["initial_state_hash"]
    for call in task["gold_calls"]:
        r = env.call(call["name"], call["arguments"])
        assert (r.ok, r.content) == (call["ok"], call["output"])
    return env.state_hash()


@pytest.mark.parametrize("which", ["helpdesk", "rental"])
def test_every_task_replays_to_its_gold_state(which, request):
    env = request.getfixturevalue(which)
    tasks = TaskSampler(env, SampleConfig(failure_rate=0.3), seed=5).sample(25)
    assert len(tasks) == 25
    assert len({t["task_id"] for t in tasks}) == 25
    for t in tasks:
        assert _replay(env, t) == t["gold_state_hash"]
        assert provenance_problems(t) == []
        assert (t["gold_diff"] == []) == (t["gold_state_hash"] == t["initial_state_hash"])
        for c in t["gold_calls"]:
            assert isinstance(c["arguments"], str) and isinstance(json.loads(c["arguments"]), dict)
        assert t["read_only"] == all(env.TOOLS[c["name"]].effect == "read" for c in t["gold_calls"])


def test_provenance_check_rejects_an_argument_nobody_could_know(helpdesk):
    task = TaskSampler(helpdesk, SampleConfig(min_calls=2, max_calls=3), seed=1).sample(1)[0]
    assert provenance_problems(task) == []
    first = task["gold_calls"][0]
    args = json.loads(first["arguments"])
    name = next(iter(args))
    args[name] = "a value from nowhere"
    tampered = {**task, "gold_calls": [{**first, "arguments": json.dumps(args)}] + task["gold_calls"][1:]}
    problems = provenance_problems(tampered)
    assert len(problems) == 1 and f"argument {name}=" in problems[0]


def test_ids_read_from_an_output_are_not_user_facts(helpdesk):
    tasks = TaskSampler(helpdesk, SampleConfig(min_calls=2, max_calls=2), seed=2).sample(40)
    chained = [t for t in tasks if [c["name"] for c in t["gold_calls"]] == ["find_user_by_email", "open_ticket"]
               and json.loads(t["gold_calls"][1]["arguments"])["user_id"] ==
               json.loads(t["gold_calls"][0]["output"])["user_id"]]
    assert chained, "expected some email -> user -> ticket chains"
    for t in chained:
        facts = {f["param"] for f in t["user_facts"]}
        assert "email" in facts and "subject" in facts
        assert "user_id" not in facts  # the agent reads it from find_user_by_email's output


def test_length_and_write_knobs(rental):
    tasks = TaskSampler(rental, SampleConfig(min_calls=2, max_calls=3, min_writes=2), seed=3).sample(10)
    assert tasks
    for t in tasks:
        ok = [c for c in t["gold_calls"] if c["ok"]]
        assert 2 <= len(ok) <= 3
        writes = sum(rental.TOOLS[c["name"]].effect == "write" for c in ok)
        assert writes == t["writes"] and writes >= 2
    reads = TaskSampler(rental, SampleConfig(max_writes=0), seed=3).sample(10)
    assert reads and all(t["read_only"] and t["gold_diff"] == [] for t in reads)


def test_failure_paths_fail_then_recover_with_the_right_value(helpdesk):
    tasks = TaskSampler(helpdesk, SampleConfig(failure_rate=1.0, max_calls=2), seed=4).sample(10)
    assert len(tasks) == 10
    for t in tasks:
        calls = t["gold_calls"]
        i = next(i for i, c in enumerate(calls) if not c["ok"])
        assert calls[i]["output"].startswith("Error: ")
        assert calls[i + 1]["ok"] and calls[i + 1]["name"] == calls[i]["name"]
        wrong = [f for f in t["user_facts"] if "wrong_first" in f]
        assert len(wrong) == 1
        assert json.loads(calls[i]["arguments"])[wrong[0]["param"]] == wrong[0]["wrong_first"]
        assert json.loads(calls[i + 1]["arguments"])[wrong[0]["param"]] == wrong[0]["value"]


def test_initial_states_from_the_generator(rental):
    tasks = TaskSampler(rental, SampleConfig(initial="generated"), seed=6).sample(8)
    assert {t["initial"]["kind"] for t in tasks} == {"generated"}
    seeded = TaskSampler(rental, SampleConfig(initial="seed"), seed=6).sample(8)
    rental.reset()
    assert {t["initial_state_hash"] for t in seeded} == {rental.state_hash()}


def test_goals_from_templates_and_from_an_llm(helpdesk):
    sampler = TaskSampler(helpdesk, SampleConfig(min_calls=1, max_calls=1, max_writes=0), seed=8)
    task = sampler.sample(1)[0]
    goal = template_goal(task, type(helpdesk).ir())
    assert goal == task["goal"] and goal.startswith(OPENERS)
    backend = ScriptedBackend(["You want to check on your ticket."] * 3)
    written = TaskSampler(helpdesk, SampleConfig(min_calls=1, max_calls=1, max_writes=0), seed=8,
                          goal_writer=llm_goal_writer(backend)).sample(1)[0]
    assert written["goal"] == "You want to check on your ticket."
    assert written["gold_calls"] == task["gold_calls"]  # the goal writer does not touch the sampling stream
    assert task["gold_calls"][0]["name"] in backend.requests[0]["messages"][0]["content"]
    broken = TaskSampler(helpdesk, SampleConfig(min_calls=1, max_calls=1, max_writes=0), seed=8,
                         goal_writer=llm_goal_writer(ScriptedBackend([]))).sample(1)[0]
    assert broken["goal"] == task["goal"]  # a failing LLM falls back to the template


def test_cli_tasks_is_deterministic_and_atomic(tmp_path):
    runner = CliRunner()
    out1, out2, out3 = tmp_path / "a.jsonl", tmp_path / "b.jsonl", tmp_path / "c.jsonl"
    for out, seed in ((out1, 7), (out2, 7), (out3, 8)):
        r = runner.invoke(main, ["tasks", str(FIXTURES), "-n", "6", "--seed", str(seed), "-o", str(out)])
        assert r.exit_code == 0, r.output
    assert out1.read_bytes() == out2.read_bytes()
    assert out1.read_bytes() != out3.read_bytes()
    rows = [json.loads(x) for x in out1.read_text().splitlines()]
    assert Counter(t["domain"] for t in rows) == {"helpdesk": 6, "rental": 6}
    assert not list(tmp_path.glob(".*.tmp"))
    assert "helpdesk: 6 task(s)" in r.output


def test_cli_generated_states_sets_how_many_distinct_states_tasks_start_from(tmp_path):
    """A training set drawn from 8 generated states repeats their few people in every conversation (a model can
    remember them); with one state per task nearly every task has its own."""
    def first_values(states: str) -> tuple[set[int], list[str]]:
        out = tmp_path / f"t{states}.jsonl"
        r = CliRunner().invoke(main, ["tasks", RENTAL, "-n", "24", "--seed", "3", "--initial", "generated",
                                      "--generated-states", states, "-o", str(out)])
        assert r.exit_code == 0, r.output
        rows = [json.loads(x) for x in out.read_text().splitlines()]
        assert {t["initial"]["kind"] for t in rows} == {"generated"}
        return {t["initial"]["seed"] for t in rows}, [t["gold_calls"][0]["arguments"] for t in rows]

    few, few_calls = first_values("2")
    many, many_calls = first_values("100000")
    assert few <= {0, 1} and len(many) >= 20
    assert len(set(many_calls)) > len(set(few_calls))
    r = CliRunner().invoke(main, ["tasks", RENTAL, "--generated-states", "0", "-o", str(tmp_path / "x.jsonl")])
    assert r.exit_code == 2 and "--generated-states" in r.output
