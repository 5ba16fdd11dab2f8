"""`python -m train` says what it is doing on long steps and ends with where things are and what they mean."""

from types import SimpleNamespace

from train.progress import ProgressLines, render_summary


def test_progress_lines_on_the_main_process_only(capsys):
    cb = ProgressLines(1, "general", 12)
    main = SimpleNamespace(is_world_process_zero=True, max_steps=30, global_step=10)
    other = SimpleNamespace(is_world_process_zero=False, max_steps=30, global_step=10)
    cb.on_train_begin(None, main, None)
    cb.on_log(None, main, None, logs={"loss": 1.23456})
    cb.on_log(None, main, None, logs={"learning_rate": 1e-3})  # not a loss line
    cb.on_log(None, other, None, logs={"loss": 9.0})
    err = capsys.readouterr().err.splitlines()
    assert err[0] == "phase 1 (general): training on 12 conversation(s), 30 step(s)"
    assert err[1].startswith("phase 1: step 10/30 loss 1.2346 (") and len(err) == 2


def test_the_closing_summary_says_where_and_what(tmp_path):
    phase = {"name": "general", "conversations": 8, "domains": {"bank": 5, "food": 3}, "steps": 4,
             "first_loss": 3.5, "final_loss": 2.25, "wall_time_s": 12.4, "final_checkpoint": f"{tmp_path}/p1/final"}
    text = render_summary({"output_dir": str(tmp_path), "phases": {"1": phase}})
    assert f"everything is under {tmp_path}/" in text
    assert "phase 1 (general): 8 conversation(s) from bank, food; 4 step(s), loss 3.500 -> 2.250, 12s; " \
           f"checkpoint {tmp_path}/p1/final" in text
    assert "run_summary.json" in text and "per assistant token" in text and "envdsl eval" in text
