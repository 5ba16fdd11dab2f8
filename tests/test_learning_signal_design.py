"""The experiment design of benchmarks/learning_signal.py (domain split, scaling subsets, budgets, spread,
targets) and its plots; the training itself is exercised by the script's --quick run, not here."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from testkit import REPO

sys.path.insert(0, str(REPO / "benchmarks"))

from signal_design import (  # noqa: E402
    check_targets,
    conversation_needs,
    main_domains,
    round_robin,
    scaling_subsets,
    split_domains,
    spread,
    training_jobs,
    with_margin,
)

HAND = ["bank", "clinic", "food", "library", "projects", "smarthome", "tau2_airline", "tau2_retail"]
SYNTH = [f"d{i:05d}_api" for i in range(40)]


def test_split_keeps_unseen_and_vertical_out_of_training_and_is_fixed_by_the_data_seed():
    split = split_domains(HAND, SYNTH, "tau2_retail", ["projects", "tau2_airline"], 5, seed=0)
    assert split.vertical == "tau2_retail"
    assert {"projects", "tau2_airline"} <= set(split.unseen) and len(split.unseen) == 7
    assert not set(split.seen) & (set(split.unseen) | {"tau2_retail"})
    assert set(split.seen) | set(split.unseen) | {"tau2_retail"} == set(HAND) | set(SYNTH)
    assert split_domains(HAND, SYNTH, "tau2_retail", ["projects"], 5, seed=0).unseen != split.unseen
    assert split_domains(HAND, SYNTH, "tau2_retail", ["projects", "tau2_airline"], 5, seed=0) == split
    assert split_domains(HAND, SYNTH, "tau2_retail", ["projects", "tau2_airline"], 5, seed=1).unseen != split.unseen


@pytest.mark.parametrize("vertical,unseen,synth_unseen,message", [
    ("nowhere", [], 0, "not found"),
    ("tau2_retail", ["tau2_retail"], 0, "cannot also be unseen"),
    ("tau2_retail", [], 41, "only 40 available"),
])
def test_split_rejects_impossible_designs(vertical, unseen, synth_unseen, message):
    with pytest.raises(ValueError, match=message):
        split_domains(HAND, SYNTH, vertical, unseen, synth_unseen, seed=0)


def test_scaling_subsets_are_nested_seeded_and_skip_oversized_k():
    seen = [f"s{i}" for i in range(20)]
    subsets = scaling_subsets(seen, [4, 16, 64], seed=3)
    assert sorted(subsets) == [4, 16]  # 64 > 20 seen domains: left out
    assert len(subsets[4]) == 4 and len(subsets[16]) == 16
    assert set(subsets[4]) <= set(subsets[16]) <= set(seen)
    assert scaling_subsets(seen, [4], seed=3) == {4: subsets[4]}
    assert scaling_subsets(seen, [4], seed=4)[4] != subsets[4]


def test_main_domains_are_every_hand_written_seen_one_plus_a_fixed_draw_of_synthesised_ones():
    split = split_domains(HAND, SYNTH, "tau2_retail", ["projects", "tau2_airline"], 5, seed=0)
    main = main_domains(split, HAND, 6, seed=0)
    assert {"bank", "clinic", "food", "library", "smarthome"} <= set(main) and len(main) == 11
    assert not set(main) & ({"tau2_retail", "projects", "tau2_airline"} | set(split.unseen))
    assert set(main) <= set(split.seen)
    assert main_domains(split, HAND, 6, seed=0) == main and main_domains(split, HAND, 6, seed=1) != main
    assert len(main_domains(split, HAND, 1000, seed=0)) == len(split.seen)


def test_only_the_conversations_some_arm_takes_are_rolled_out():
    main = ["a", "b"]
    subsets = [{1: ["c"], 3: ["a", "c", "d"]}, {1: ["d"], 3: ["b", "d", "e"]}]
    needs = conversation_needs(main, 10, subsets, 9)
    # main: 5 each; K=1 takes all 9 from its domain; K=3 takes 3 from each
    assert needs == {"a": 5, "b": 5, "c": 9, "d": 9, "e": 3}
    assert conversation_needs(main, 11, [], 9) == {"a": 6, "b": 6}
    assert with_margin(0) == 0 and with_margin(1) == 4 and with_margin(8) == 12


def test_do_nothing_baseline_follows_pass1_rules():
    from signal_score import do_nothing_passes

    base = {"initial_state_hash": "h0", "gold_state_hash": "h0", "read_only": False, "gold_calls": []}
    assert do_nothing_passes(base)
    assert not do_nothing_passes({**base, "gold_state_hash": "h1"})  # a write the agent must make
    lookup = {**base, "read_only": True, "gold_calls": [{"name": "get", "arguments": "{}", "ok": True}]}
    assert not do_nothing_passes(lookup)  # read-only tasks need their gold calls
    assert do_nothing_passes({**lookup, "gold_calls": [{"name": "get", "arguments": "{}", "ok": False}]})
    assert not do_nothing_passes({**base, "assertions": [{"name": "line_works", "arguments": {}, "expect": True}]})


def test_round_robin_spreads_a_budget_evenly_and_gives_up_exhausted_shares():
    rows = {"a": ["a0", "a1", "a2", "a3"], "b": ["b0"], "c": ["c0", "c1", "c2"]}
    assert round_robin(rows, ["a", "b", "c"], 6) == ["a0", "b0", "c0", "a1", "c1", "a2"]
    assert round_robin(rows, ["c", "a"], 3) == ["a0", "c0", "a1"]
    assert round_robin(rows, ["a", "b", "c"], None) == ["a0", "b0", "c0", "a1", "c1", "a2", "c2", "a3"]
    assert round_robin(rows, ["a", "missing"], 100) == rows["a"]
    assert round_robin(rows, ["a"], 0) == []


def test_spread_over_seeds():
    cell = spread([0.2, 0.4, None, 0.6])
    assert cell["mean"] == 0.4 and cell["std"] == 0.2 and (cell["min"], cell["max"]) == (0.2, 0.6)
    assert cell["n"] == 3 and cell["values"] == [0.2, 0.4, None, 0.6]
    assert spread([0.5])["std"] == 0.0
    assert spread([None])["mean"] is None


def test_targets_are_judged_on_the_mean_over_seeds():
    met = check_targets(spread([0.3, 0.3, 0.3]), spread([0.0, 0.1, 0.0]))
    assert met["seen_pass1"]["verdict"] == "met" and met["unseen_pass1"]["verdict"] == "met"
    missed = check_targets(spread([0.2, 0.3, 0.3]), spread([0.0, 0.0, 0.0]))
    assert missed["seen_pass1"]["verdict"] == "missed" and missed["unseen_pass1"]["verdict"] == "missed"
    assert check_targets(spread([None]), spread([0.1]))["seen_pass1"]["verdict"] == "not measured"


def test_plots_are_written_as_png(tmp_path):
    import matplotlib  # noqa: F401  (the `bench` extra, which .ci/run installs: the plots are tested, never skipped)
    from signal_plots import METRICS, plot_bars, plot_scaling

    cells = {m: spread([0.1, 0.3]) for m in METRICS}
    scaling = plot_scaling({"ks": [4, 16], "by_k": {"4": cells, "16": cells}}, "t", tmp_path / "s.png")
    bars = plot_bars({"two_phase": cells, "mixed": cells}, "t", tmp_path / "b.png")
    for path in (scaling, bars):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("args,message", [
    (["--synth", "no/such/folder"], "--synth no/such/folder: no such folder"),
    (["--ks", "4,x"], "expected comma-separated integers"),
    (["--budget", "8", "--ks", "4,16"], "--budget 8 is below the largest K (16)"),
    (["--arms", "mixed,rl"], "expected some of mixed, two_phase, scaling"),
    (["--tag", "../x"], "a tag is up to 32 of a-z, 0-9 and _"),
])
def test_learning_signal_rejects_bad_arguments_without_a_traceback(args, message, tmp_path):
    import subprocess

    done = subprocess.run([sys.executable, str(REPO / "benchmarks" / "learning_signal.py"), "--quick",
                           "--work", str(tmp_path), "--results", str(tmp_path), *args],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    assert message in done.stderr
    assert "Traceback" not in done.stderr


def test_synth_domains_are_drawn_from_the_accepted_folders(tmp_path):
    from learning_signal import synth_domain_folders

    for name in ("d1", "d2", "d3", "d4"):
        (tmp_path / "out" / "accepted" / name).mkdir(parents=True)
        (tmp_path / "out" / "accepted" / name / f"{name}.env").write_text("")
    (tmp_path / "out" / "accepted" / "not_a_domain").mkdir()
    every = synth_domain_folders([tmp_path / "out"], 0, seed=0)
    assert [p.name for p in every] == ["d1", "d2", "d3", "d4"]
    drawn = synth_domain_folders([tmp_path / "out"], 2, seed=0)
    assert len(drawn) == 2 and set(drawn) <= set(every) and drawn == sorted(drawn)
    assert synth_domain_folders([tmp_path / "out"], 2, seed=0) == drawn
    with pytest.raises(SystemExit, match="no accepted domain folder"):
        synth_domain_folders([tmp_path / "out" / "accepted" / "not_a_domain"], 0, seed=0)


def test_tasks_written_to_another_folder_still_find_their_specs(tmp_path, monkeypatch):
    """The benchmark writes sampled tasks again under rollouts/ and as held-out files: a spec path relative to the
    sampled file's folder (as `envdsl tasks` stores it) must still lead to the spec from the new file."""
    import json

    from learning_signal import write_tasks

    from envdsl.tasks.io import read_tasks

    spec = tmp_path / "synth" / "accepted" / "d1" / "d1.env"
    spec.parent.mkdir(parents=True)
    spec.write_text("domain d1\n")
    work = tmp_path / "work"
    work.mkdir()
    task = {"task_id": "d1-1", "domain": "d1", "goal": "g", "gold_calls": [], "user_facts": [],
            "spec": "../synth/accepted/d1/d1.env"}
    (work / "tasks-1.jsonl").write_text(json.dumps(task) + "\n")
    monkeypatch.chdir(tmp_path / "synth")  # the benchmark's own folder is not the tasks' folder
    rewritten = write_tasks(work / "rollouts" / "train-tasks.jsonl", read_tasks(work / "tasks-1.jsonl"))
    monkeypatch.chdir(tmp_path)
    again = read_tasks(rewritten)
    assert again[0]["spec"] is not None and Path(again[0]["spec"]).resolve() == spec.resolve()


def test_training_jobs_cover_every_arm_of_every_seed_longest_first():
    seen = [f"d{i}" for i in range(10)]
    jobs = training_jobs([0, 1], ["mixed", "two_phase", "scaling"], [4, 8, 16], seen)
    # K=16 is more than the seen pool: no job (the report lists it as skipped)
    assert jobs == [(0, "mixed"), (0, "two_phase"), (1, "mixed"), (1, "two_phase"),
                    (0, "scale_4"), (0, "scale_8"), (1, "scale_4"), (1, "scale_8")]
    assert training_jobs([3], ["scaling"], [4], seen) == [(3, "scale_4")]
    assert training_jobs([0, 1], ["two_phase"], [4], seen) == [(0, "two_phase"), (1, "two_phase")]


def test_sampled_tasks_start_from_their_own_generated_states(tmp_path):
    """The benchmark's tasks start from generated states, nearly one per task: a held-out task of a seen domain
    has other people than the training tasks, so remembering a training customer's email cannot pass it."""
    import json

    from learning_signal import sample_tasks

    [bank] = sample_tasks(tmp_path, [[REPO / "specs" / "bank"]], 12, seed=0)
    assert len(bank) == 12 and {t["initial"]["kind"] for t in bank} == {"generated"}
    assert len({t["initial"]["seed"] for t in bank}) == 12
    emails = [json.loads(t["gold_calls"][0]["arguments"]).get("email") for t in bank]
    assert len(set(emails)) >= 10
    [seeded] = sample_tasks(tmp_path / "s", [[REPO / "specs" / "bank"]], 4, seed=0, initial="seed")
    assert {t["initial"]["kind"] for t in seeded} == {"seed"}


def test_tasks_sampled_side_by_side_are_the_tasks_of_one_run(tmp_path):
    """The data stage splits the domains over processes; the joined file must be byte for byte the one a single
    `envdsl tasks` run writes (each domain has its own random stream), the built-in specs/ folder included."""
    from learning_signal import domain_folders, sample_tasks, split_evenly

    specs = REPO / "specs"
    assert [p.name for p in domain_folders([specs])][:3] == ["bank", "clinic", "food"]
    assert split_evenly([Path(str(i)) for i in range(5)], 2) == [[Path("0"), Path("1"), Path("2")],
                                                                 [Path("3"), Path("4")]]
    assert split_evenly([Path("a")], 4) == [[Path("a")]]
    sample_tasks(tmp_path / "one", [[specs]], 2, seed=5)
    sample_tasks(tmp_path / "two", [[specs]], 2, seed=5, processes=3)
    one, two = (tmp_path / "one" / "tasks-0.jsonl").read_bytes(), (tmp_path / "two" / "tasks-0.jsonl").read_bytes()
    assert one == two and one.count(b"\n") >= 18
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == ["tasks-0.command.json", "tasks-0.jsonl"]
