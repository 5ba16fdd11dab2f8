"""User mistakes end with one `error:` line and exit status 2, never a traceback."""

import json
import subprocess
import sys

import pytest
from train_testkit import REPO_ROOT, TINY_CONFIG


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "train", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=120
    )


def assert_user_error(result: subprocess.CompletedProcess, fragment: str) -> None:
    assert result.returncode == 2, result.stderr
    # Progress bars (datasets) may come before it; the error itself is one line, and the last.
    lines = result.stderr.strip().splitlines()
    error_lines = [line for line in lines if line.startswith("error: ")]
    assert error_lines == [lines[-1]], result.stderr
    assert fragment in lines[-1]
    assert "Traceback" not in result.stderr


def test_missing_data_dir(tmp_path):
    result = run_cli("--config", str(TINY_CONFIG), f"data.train_dir={tmp_path / 'nope'}")
    assert_user_error(result, "data directory not found")


def test_missing_config_key(tmp_path):
    config = tmp_path / "c.yaml"
    config.write_text("model: {tiny: {}}\ndata: {train_dir: x, vertical_domains: [a]}\n")
    assert_user_error(run_cli("--config", str(config)), "missing config key 'output_dir'")


def test_missing_config_file(tmp_path):
    assert_user_error(run_cli("--config", str(tmp_path / "absent.yaml")), "config file not found")


@pytest.mark.parametrize(
    "override, fragment",
    [
        ("modle.tiny={}", "unknown top-level key(s): modle"),
        ("data.vertical_domain=[x]", "unknown key(s) in 'data': vertical_domain"),
        ("training.max_length=5", "use data.max_length"),
        ("data.max_length", "not of the form key.path=value"),
        ("model.name_or_path=some/model", "set exactly one of"),
    ],
)
def test_bad_overrides(override, fragment):
    assert_user_error(run_cli("--config", str(TINY_CONFIG), override), fragment)


def test_unknown_vertical_domain(trajectory_dir):
    result = run_cli("--config", str(TINY_CONFIG), f"data.train_dir={trajectory_dir}", "data.vertical_domains=[airline]")
    assert_user_error(result, "vertical domain(s) airline not found in the data (domains present: library, retail)")


def test_unknown_trainer_argument(trajectory_dir, tmp_path):
    result = run_cli(
        "--config", str(TINY_CONFIG), f"data.train_dir={trajectory_dir}", f"output_dir={tmp_path}", "training.learning_rat=1"
    )
    assert_user_error(result, "unknown SFTConfig argument(s) in training/phase1/phase2: learning_rat")


def test_dry_run_prints_split(trajectory_dir):
    result = run_cli("--config", str(TINY_CONFIG), f"data.train_dir={trajectory_dir}", "--dry-run")
    assert result.returncode == 0, result.stderr
    assert '"phase1_domains": {\n    "library": 6' in result.stdout
    assert '"phase2_conversations": 4' in result.stdout


def test_train_package_does_not_import_envdsl():
    code = (
        "import sys, train, train.cli, train.config, train.data, train.phases, train.toolcall, train.tiny_model, "
        "train.modeling, train.sft_args, train.summary; print('envdsl' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert result.stdout.strip() == "False", result.stderr


def test_phases_as_separate_launches(trajectory_dir, tmp_path):
    common = ["--config", str(TINY_CONFIG), f"data.train_dir={trajectory_dir}", f"output_dir={tmp_path}"]
    assert_user_error(run_cli(*common, "--phase", "2"), "phase 2 needs the phase-1 checkpoint")
    for phase in ("1", "2"):
        result = run_cli(*common, "--phase", phase, "training.disable_tqdm=true")
        assert result.returncode == 0, result.stderr[-2000:]
    summary = json.loads((tmp_path / "run_summary.json").read_text())
    assert sorted(summary["phases"]) == ["1", "2"]
    assert summary["phases"]["2"]["init_model"] == str(tmp_path / "phase1_general" / "final")
