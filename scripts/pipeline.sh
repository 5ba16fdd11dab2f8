#!/usr/bin/env bash
# The whole envdsl flow on the built-in domains, offline, on CPU, in a few minutes:
#   compile specs -> property tests -> tasks (train / held-out split) -> oracle rollouts -> two-phase SFT of the
#   tiny model (general domains, then the vertical domain) -> pass^1 of both phase checkpoints on held-out tasks
#   -> an HTML report of the three evaluations (OUT/report.html). Rollouts and training print progress lines.
#
#   bash scripts/pipeline.sh [OUT]            (default OUT=runs/pipeline; run from anywhere)
#
# Needs `pip install torch==2.13.0 && pip install -e ".[train,dev]"`. The tau2 specs read their policy and
# database from ../shared/data/tau2 beside the repository. Sizes can be changed through the environment:
#   PYTHON (python)  TASKS_PER_DOMAIN (8)  HELDOUT_PER_DOMAIN (2)  SEED (0)  VERTICAL (tau2_retail)
#   EPOCHS (1)  PROPTEST_EXAMPLES (3)  MAX_TURNS (16)  MAX_NEW_TOKENS (96)  OMP_NUM_THREADS (2)
# The tiny model is trained on the full prompts (policy + tool schemas: 3K-7K tokens each), so the pipeline
# overrides the tiny config's 512-token vocabulary and 1024-token max_length, which would leave no assistant token.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="$(mkdir -p "${1:-runs/pipeline}" && cd "${1:-runs/pipeline}" && pwd)"
PYTHON="${PYTHON:-python}"
TASKS_PER_DOMAIN="${TASKS_PER_DOMAIN:-8}"
HELDOUT_PER_DOMAIN="${HELDOUT_PER_DOMAIN:-2}"
SEED="${SEED:-0}"
VERTICAL="${VERTICAL:-tau2_retail}"
EPOCHS="${EPOCHS:-1}"
PROPTEST_EXAMPLES="${PROPTEST_EXAMPLES:-3}"
MAX_TURNS="${MAX_TURNS:-16}"  # the policy's identification and confirmation turns need room
export ENVDSL_HF_MAX_NEW_TOKENS="${MAX_NEW_TOKENS:-96}"
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}"
export TOKENIZERS_PARALLELISM=false HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TRANSFORMERS_OFFLINE=1
# specs/tau2 read the benchmark's policy and database from ../shared/data: allow that folder (docs/security.md)
export ENVDSL_ALLOW_DIRS="${ENVDSL_ALLOW_DIRS:-$(cd "$(dirname "$0")/../.." && pwd)/shared/data}"
cd "$REPO"  # specs/ and configs/ are read from the repository; everything written goes under OUT

envdsl() { "$PYTHON" -m envdsl "$@"; }
STAGE_TIMES=()
PIPELINE_START=$SECONDS
stage() {  # stage NAME COMMAND...: echo, run, record the wall time
  local name="$1" start=$SECONDS
  shift
  echo
  echo "=== [$name] $*"
  "$@"
  local took=$((SECONDS - start))
  STAGE_TIMES+=("$name=${took}s")
  echo "=== [$name] done in ${took}s"
}

split_tasks() {  # the first TASKS_PER_DOMAIN - HELDOUT_PER_DOMAIN tasks of each domain train; the rest are held out
  "$PYTHON" - "$OUT/tasks/all.jsonl" "$OUT/tasks/train.jsonl" "$OUT/tasks/heldout.jsonl" "$HELDOUT_PER_DOMAIN" <<'EOF'
import json, sys
src, train_path, heldout_path, heldout_n = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
by_domain = {}
for line in open(src, encoding="utf-8"):
    task = json.loads(line)
    by_domain.setdefault(task["domain"], []).append(task)
train, heldout = [], []
for domain, tasks in sorted(by_domain.items()):
    if len(tasks) <= heldout_n:
        sys.exit(f"{domain}: {len(tasks)} task(s), need more than {heldout_n} to hold some out")
    train += tasks[:-heldout_n]
    heldout += tasks[-heldout_n:]
overlap = {t["task_id"] for t in train} & {t["task_id"] for t in heldout}
assert not overlap, f"task ids in both splits: {sorted(overlap)}"
for path, rows in ((train_path, train), (heldout_path, heldout)):
    with open(path, "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r, sort_keys=True) + "\n" for r in rows)
print(f"{len(train)} training task(s), {len(heldout)} held-out task(s), {len(by_domain)} domain(s)")
EOF
}

train_model() {
  rm -rf "$OUT/model"  # a fresh run: the tiny base is rebuilt from this dataset
  "$PYTHON" -m train --config configs/train/tiny_cpu.yaml \
    "data.train_dir=$OUT/rollouts/train/dataset" "output_dir=$OUT/model" "data.vertical_domains=[$VERTICAL]" \
    "training.num_train_epochs=$EPOCHS" training.disable_tqdm=true
}

evaluate() {  # evaluate NAME AGENT: pass^1 on the held-out tasks, one trial each
  rm -rf "$OUT/eval/$1"  # rollouts resume from an output folder; a new model must not reuse old ones
  envdsl eval "$OUT/tasks/heldout.jsonl" -o "$OUT/eval/$1" --agent "$2" --trials 1 -k 1 \
    --max-turns "$MAX_TURNS" --concurrency 1 --json "$OUT/eval/$1.json"
}

summary() {
  "$PYTHON" - "$OUT" "$VERTICAL" <<'EOF'
import json, sys
from pathlib import Path
out, vertical = Path(sys.argv[1]), sys.argv[2]
count = lambda p: sum(1 for _ in open(p, encoding="utf-8"))
manifest = json.loads((out / "rollouts/train/dataset/manifest.json").read_text())
run = json.loads((out / "model/run_summary.json").read_text())
print(f"tasks: {count(out / 'tasks/all.jsonl')} sampled, {count(out / 'tasks/train.jsonl')} train, "
      f"{count(out / 'tasks/heldout.jsonl')} held out")
print(f"trajectories: {manifest['rows']} kept for training {manifest['by_domain']}")
for phase, s in sorted(run["phases"].items()):
    print(f"phase {phase} ({s['name']}): {s['conversations']} conversations, {s['steps']} steps, "
          f"loss {s['first_loss']:.3f} -> {s['final_loss']:.3f} (mean {s['train_loss']:.3f}), {s['wall_time_s']:.0f}s")
print(f"\n{'agent':<10} {'held-out pass^1':>16} {vertical + ' pass^1':>22} {'conversations':>14}")
for name in ("oracle", "phase1", "phase2"):
    report = json.loads((out / f"eval/{name}.json").read_text())
    passk = report["passk"]
    vert = passk.get(vertical, {}).get("pass^1")
    print(f"{name:<10} {passk['all']['pass^1']:>16.3f} {'-' if vert is None else f'{vert:.3f}':>22} "
          f"{report['conversations']:>14}")
heldout = count(out / "tasks/heldout.jsonl")
print(f"""
where things are (under {out}):
  dataset      rollouts/train/dataset/ (JSONL shards + manifest.json): the oracle conversations that passed
               the filters; rollouts/train/summary.json says why the others were rejected
  checkpoints  model/phase1_general/final and model/phase2_vertical/final (run_summary.json: losses per phase)
  eval         eval/<agent>/results.jsonl (one row per held-out task), eval/<agent>.json (pass^k per domain)
  report       report.html (pass^k chart, rejection reasons, every conversation with its state diff)
what the numbers mean:
  pass^1 is the share of held-out tasks whose conversation ended in the gold final state (for read-only
  tasks: and made the gold calls). The oracle replays the gold calls, so it shows what the tasks allow
  (1.000 when environment and filters agree and MAX_TURNS leaves it room). The tiny model is trained from scratch in minutes on CPU: it
  checks that the plumbing works end to end; its pass^1 (usually 0.000) is not a measure of the method.
  The report's intervals are 95% bootstrap intervals over tasks: with {heldout} held-out task(s) they are wide.""")
EOF
}

mkdir -p "$OUT/tasks" "$OUT/eval"
stage compile envdsl compile specs -o "$OUT/generated"
PACKAGES=("$OUT"/generated/*/)  # one folder per domain (the root holds an __init__.py of its own)
stage proptest envdsl test "${PACKAGES[@]}" --examples "$PROPTEST_EXAMPLES" --seed "$SEED"
stage tasks envdsl tasks "${PACKAGES[@]}" -n "$TASKS_PER_DOMAIN" --seed "$SEED" -o "$OUT/tasks/all.jsonl"
stage split split_tasks
# a fresh rollout folder: other sizes or seeds make other tasks, and a run folder refuses another run's tasks
rm -rf "$OUT/rollouts/train"
stage rollout envdsl rollout "$OUT/tasks/train.jsonl" -o "$OUT/rollouts/train" --agent oracle
stage train train_model
stage eval-oracle evaluate oracle oracle
stage eval-phase1 evaluate phase1 "hf:$OUT/model/phase1_general/final"
stage eval-phase2 evaluate phase2 "hf:$OUT/model/phase2_vertical/final"
stage report envdsl report "$OUT/eval/oracle" "$OUT/eval/phase1" "$OUT/eval/phase2" -o "$OUT/report.html"

echo
echo "=== summary ($OUT)"
summary
echo "stage times: ${STAGE_TIMES[*]}"
echo "total: $((SECONDS - PIPELINE_START))s"
