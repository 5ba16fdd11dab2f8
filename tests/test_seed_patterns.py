"""Generated states follow the seed's patterns (a lead among the members, the seed's share of true) and
sometimes hold a parent without children, so a write tool that needs such a state is exercised."""

from __future__ import annotations

import random
from pathlib import Path

from envdsl.ir.rules import PolicyRules
from envdsl.session import environment_from_spec
from envdsl.tasks import SampleConfig, TaskSampler
from envdsl.tasks.coverage import tool_coverage
from envdsl.tasks.initial import realistic_state
from envdsl.tasks.seed_patterns import seed_pattern_repair

ROOT = Path(__file__).resolve().parent.parent
PROJECTS = "specs/projects/projects.env"


def test_archive_project_has_states_where_it_can_succeed_and_is_covered():
    env = environment_from_spec(str(ROOT / PROJECTS))
    archivable = 0
    for seed in range(8):
        state = realistic_state(type(env), seed)
        for p in state["projects"].values():
            assert p["lead"] in p["members"]  # as in every seed project
            unfinished = [i for i in state["issues"].values()
                          if i["project_id"] == p["project_id"] and i["status"] not in ("done", "wont_fix")]
            archivable += not p["archived"] and not unfinished
    assert archivable >= 2
    tasks = TaskSampler(env, SampleConfig(failure_rate=0.2), seed=0, spec=PROJECTS).sample(150)
    assert "archive_project" not in tool_coverage(tasks, type(env).ir())["missing_writes"]


def test_seed_patterns_are_learned_not_named():
    ir = {"state": [{"name": "teams", "kind": "collection", "record": "Team"},
                    {"name": "tickets", "kind": "collection", "record": "Ticket"}],
          "records": [{"name": "Team", "fields": [{"name": "boss", "type": {"k": "ref", "coll": "people"}},
                                                  {"name": "crew", "type": {"k": "list", "of": {"k": "str"}}},
                                                  {"name": "closed", "type": {"k": "bool"}}]},
                      {"name": "Ticket", "fields": [{"name": "team", "type": {"k": "ref", "coll": "teams"}}]}]}
    seed = {"teams": {f"t{i}": {"boss": f"p{i}", "crew": [f"p{i}", "x"], "closed": False} for i in range(4)}}
    state = {"teams": {f"t{i}": {"boss": f"q{i}", "crew": [], "closed": True} for i in range(3)},
             "tickets": {f"k{i}": {"team": f"t{i % 3}"} for i in range(9)}}
    repair = seed_pattern_repair(seed, ir, PolicyRules())
    emptied = 0
    for s in range(6):
        st = {k: {kk: dict(vv, crew=list(vv["crew"])) if "crew" in vv else dict(vv) for kk, vv in v.items()}
              for k, v in state.items()}
        repair(st, random.Random(s))
        assert all(t["boss"] in t["crew"] and t["closed"] is False for t in st["teams"].values())
        emptied += len(st["tickets"]) == 6  # one team's three tickets dropped
    assert 0 < emptied < 6
