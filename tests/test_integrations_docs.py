"""docs/integrations.md: its task command and every Python example run as written."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DOC = (REPO / "docs" / "integrations.md").read_text(encoding="utf-8")
PYTHON_BLOCKS = re.findall(r"```python\n(.*?)```", DOC, flags=re.S)


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    """A folder with specs/ and generated/ of the repository and the task file the doc makes."""
    work = tmp_path_factory.mktemp("integrations-doc")
    for name in ("specs", "generated"):
        (work / name).symlink_to(REPO / name)
    command = next(line for block in re.findall(r"```bash\n(.*?)```", DOC, flags=re.S)
                   for line in block.splitlines() if line.startswith("envdsl tasks "))
    argv = shlex.split(command)
    done = subprocess.run([sys.executable, "-m", "envdsl", *argv[1:]], cwd=work, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert (work / "tasks.jsonl").is_file()
    return work


def test_doc_has_an_example_per_integration():
    assert len(PYTHON_BLOCKS) == 3
    assert "envdsl.integrations.trl" in PYTHON_BLOCKS[0] and "mcp.client" in PYTHON_BLOCKS[1]
    assert "vf.load_taskset" in PYTHON_BLOCKS[2]


@pytest.mark.parametrize("index", range(len(PYTHON_BLOCKS)))
def test_python_example_runs(workdir, index):
    done = subprocess.run([sys.executable, "-c", PYTHON_BLOCKS[index]], cwd=workdir, capture_output=True,
                          text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip()
