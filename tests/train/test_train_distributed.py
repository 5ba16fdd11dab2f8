"""`torchrun -m train` with two CPU processes (gloo): both phases run data-parallel, phase 2 after phase 1."""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from train_testkit import REPO_ROOT, TINY_CONFIG


@pytest.mark.skipif(shutil.which("torchrun") is None and not (Path(sys.executable).parent / "torchrun").exists(), reason="torchrun not installed")
def test_torchrun_two_processes(trajectory_dir, tmp_path):
    command = [
        sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2",
        "-m", "train", "--config", str(TINY_CONFIG),
        f"data.train_dir={trajectory_dir}", f"output_dir={tmp_path}", "training.disable_tqdm=true",
        "training.per_device_train_batch_size=2",  # the step count below depends on it, not on the config
    ]  # fmt: skip
    # Own process group: on a timeout the worker ranks must die with the launcher instead of lingering.
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        _, stderr = process.communicate(timeout=150)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("torchrun did not finish in 150 s")
    assert process.returncode == 0, stderr[-3000:]
    summary = json.loads((tmp_path / "run_summary.json").read_text())
    for phase in ("1", "2"):
        assert summary["phases"][phase]["world_size"] == 2
    # Each rank gets half of each batch: 6 conversations, 2 per device, 2 devices, 2 epochs -> 4 optimizer steps.
    assert summary["phases"]["1"]["steps"] == 4
    assert (tmp_path / "phase2_vertical" / "final" / "model.safetensors").is_file()
    assert summary["phases"]["2"]["init_model"] == str(tmp_path / "phase1_general" / "final")
