"""Helpers shared by the train/ tests (kept out of conftest.py so that tests can import them by a unique name)."""

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
TINY_CONFIG = REPO_ROOT / "configs" / "train" / "tiny_cpu.yaml"


def tiny_config(trajectory_dir: Path, output_dir: Path, *overrides: str):
    """The shipped tiny CPU config pointed at test data and a temporary output directory."""
    from train.config import load_config

    return load_config(
        TINY_CONFIG,
        [
            f"data.train_dir={trajectory_dir}",
            f"output_dir={output_dir}",
            "data.vertical_domains=[retail]",
            "training.disable_tqdm=true",
            *overrides,
        ],
    )
