"""The whole shared tool collection through `envdsl synth` with the heuristic writer (docs/synth.md).

    python benchmarks/synth_full.py [OUT]      # OUT defaults to /tmp/synth_full (never committed)

Runs the documented command (it resumes if OUT holds an unfinished run) and copies OUT/summary.json
to benchmarks/results/synth_full.json. Takes about half an hour on two cores.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT.parent / "shared" / "data" / "tools"


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/synth_full")
    cmd = [sys.executable, "-m", "envdsl.cli", "synth", str(TOOLS), "-o", str(out), "--writer", "heuristic",
           "--workers", "2", "--embedder", "tfidf", "--cap-per-api", "20", "--examples", "2", "--no-progress"]
    subprocess.run(cmd, check=True, cwd=ROOT)
    results = ROOT / "benchmarks" / "results"
    results.mkdir(parents=True, exist_ok=True)
    shutil.copy(out / "summary.json", results / "synth_full.json")
    print(f"summary copied to {results / 'synth_full.json'}")


if __name__ == "__main__":
    main()
