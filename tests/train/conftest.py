"""Shared fixtures for the train/ tests: CPU only, one thread, no network, tiny model."""

import os
import sys
from pathlib import Path

# Must happen before torch is imported anywhere: 2-core CI machines thrash with the default thread pool.
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
# Nothing may reach a model hub at test time.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ["TOKENIZERS_PARALLELISM"] = "false"
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")

import pytest  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[2]
TESTS_DIR = Path(__file__).resolve().parent
for path in (str(REPO_ROOT), str(TESTS_DIR)):
    if path not in sys.path:
        sys.path.insert(0, path)

from train_testkit import tiny_config  # noqa: E402
from train_trajectories import write_shards  # noqa: E402


@pytest.fixture(scope="session")
def trajectory_dir(tmp_path_factory) -> Path:
    return write_shards(tmp_path_factory.mktemp("trajectories"))


@pytest.fixture(scope="session")
def tiny_setup(trajectory_dir, tmp_path_factory):
    """Config, phase split and the freshly built tiny base model (no training)."""
    from train.data import load_trajectories, split_by_domain
    from train.phases import distributed_state, prepare_base

    config = tiny_config(trajectory_dir, tmp_path_factory.mktemp("tiny_base"))
    dataset = load_trajectories(config.data.train_dir)
    split = split_by_domain(dataset, config.data.vertical_domains)
    base_path = prepare_base(config, dataset, distributed_state())
    return config, split, base_path
