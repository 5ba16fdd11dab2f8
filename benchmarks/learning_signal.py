"""Does training on envdsl conversations teach tool use? A CPU-scale model trained from scratch on oracle
conversations of many domains, scored on held-out tasks.

    OMP_NUM_THREADS=2 python benchmarks/learning_signal.py --synth SYNTH_OUT     # the experiment, ~30 min
    OMP_NUM_THREADS=1 python benchmarks/learning_signal.py --quick               # smoke run, a few minutes

Domains: the hand-written ones in --specs and the accepted domains of each `envdsl synth` output folder given with
--synth. Tasks are sampled per domain (`envdsl tasks`, each from its own generated initial state unless --initial
says otherwise), solved by the oracle (`envdsl rollout --agent oracle`) and split per domain into training and
held-out tasks. Unseen domains (the hand-written --unseen ones plus
--unseen-synth synthesised ones drawn with --data-seed) give no training data; they are one fixed scoring set.
Every training seed builds its own base (BPE tokenizer on the training text, initial weights) from --config
(configs/train/small_cpu.yaml: 1.3M parameters, compact prompt), and trains these arms from it, each arm a job
run by one of --jobs worker processes:
  mixed         one phase on --main-budget conversations of the main domains (every hand-written seen domain plus
                --main-synth synthesised ones) and the vertical domain's, --main-epochs epochs
  two_phase     `python -m train`'s schedule: phase 1 on the general domains, phase 2 on the vertical one; the same
                conversations and epochs as mixed (so the same steps, up to rounding per phase)
  general_only  phase 1 of two_phase (the vertical domain is unseen to it)
  scale_K       the environment-scaling curve: --budget conversations spread over K seen domains (K in --ks,
                nested subsets drawn per seed), scored on the fixed unseen domains
Scores per held-out group (seen: held-out tasks of the main domains; vertical; unseen):
  loss          mean cross-entropy per assistant token of the held-out oracle conversations (teacher forcing)
  call_ok       at each gold tool-call turn of those conversations, given the gold history: share of turns where
                the greedy reply holds a well-formed <tool_call> block, ...
  name_ok       ... names the gold tool, ...
  args_ok       ... and also has exactly the gold arguments
  pass^1        `envdsl eval`'s pass^1: the model plays each held-out task once against the scripted user
                (reported beside the share a do-nothing agent passes and the share the oracle finished within
                --max-turns agent turns)
Every figure is the mean over --seeds with its sample standard deviation, min and max. The targets of issue 17
(mixed model: pass^1 >= 0.3 on seen domains, > 0 on unseen ones) are checked and reported as met or missed.
--arms trains some of mixed, two_phase and scaling only. Results: benchmarks/results/learning_signal[_TAG].json
and learning_signal[_TAG]_{scaling,phases,groups}.png.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

# before torch is imported: a 2-core machine thrashes with the default thread pool
os.environ.setdefault("OMP_NUM_THREADS", "2")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
for _key in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(_key, "1")

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "benchmarks"))

from bench_common import DEFAULT_RESULTS, print_table, write_results  # noqa: E402
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
from signal_score import do_nothing_passes  # noqa: E402

from envdsl.tasks.io import read_tasks, relative_specs  # noqa: E402

CONFIGS = REPO / "configs" / "train"
METRICS = ("loss", "call_ok", "name_ok", "args_ok", "pass^1")
# mixed: the model of the targets; two_phase: general then vertical (with general_only); scaling: the K arms
ARMS = ("mixed", "two_phase", "scaling")
# generated initial states per domain: more than any run's tasks, so nearly every task starts from its own state
GENERATED_STATES = 1_000_000


@dataclass
class Sizes:
    config: str  # run config of the model (configs/train/...)
    config_overrides: list[str]
    seeds: list[int]
    ks: list[int]  # domains per arm of the scaling curve
    budget: int  # training conversations per arm of the scaling curve
    main_budget: int  # general training conversations of the mixed and two-phase arms (spread over main domains)
    main_synth: int  # synthesised seen domains in the main arms' training set (every hand-written seen one is in it)
    main_epochs: int  # epochs of the mixed and two-phase arms (their target: pass^1 on held-out tasks of seen domains)
    unseen_synth: int  # synthesised domains held out of training (besides the named hand-written ones)
    heldout_per_domain: int  # held-out tasks per seen domain
    vertical_heldout: int  # held-out tasks of the vertical domain (the two-phase comparison is scored on them)
    eval_tasks: int  # most held-out tasks per group (spread over its domains)
    epochs: int  # epochs of the scaling arms
    max_new_tokens: int
    max_turns: int
    tasks_per_domain: int = 0  # 0: enough for the smallest K to fill the budget, plus the held-out ones
    synth_domains: int = 0  # synthesised domains drawn (with --data-seed) from the --synth folders; 0: all
    extra: dict[str, Any] = field(default_factory=dict)


# About 30 minutes on 2 cores: per seed 1,664 training steps for the mixed and two-phase arms and 1,024 for the
# scaling arms, at ~0.32 s per 1-2K-token conversation in each of two one-thread workers (bf16, one conversation
# per step), plus scoring. One epoch over distinct conversations: at the same steps, repeated conversations gave
# a higher held-out loss (0.48 against 0.30 per assistant token in a single-seed run, issue 17's note).
FULL = Sizes(config=str(CONFIGS / "small_cpu.yaml"), config_overrides=[], seeds=[0, 1, 2], ks=[4, 16, 64, 256],
             budget=256, main_budget=768, main_synth=10, main_epochs=1, unseen_synth=16, heldout_per_domain=1,
             vertical_heldout=8, eval_tasks=16, epochs=1, max_new_tokens=80, max_turns=14, synth_domains=300)
# The tiny config (~100K parameters) with the compact prompt: checks that the script runs; figures mean little.
QUICK = Sizes(config=str(CONFIGS / "tiny_cpu.yaml"),
              config_overrides=["model.prompt_style=compact", "model.tiny.vocab_size=1024",
                                "model.tiny.max_position_embeddings=4096", "data.max_length=3072"],
              seeds=[0, 1, 2], ks=[2, 4], budget=8, main_budget=10, main_synth=2, main_epochs=1, unseen_synth=1,
              heldout_per_domain=1, vertical_heldout=1, eval_tasks=3, epochs=1, max_new_tokens=16, max_turns=2,
              synth_domains=8)


def arm_list(text: str) -> list[str]:
    arms = [a.strip() for a in text.split(",") if a.strip()]
    unknown = sorted(set(arms) - set(ARMS))
    if unknown or not arms:
        raise argparse.ArgumentTypeError(f"expected some of {', '.join(ARMS)}, got {text!r}")
    return [a for a in ARMS if a in arms]


def tag_name(text: str) -> str:
    if not re.fullmatch(r"[a-z0-9_]{0,32}", text):
        raise argparse.ArgumentTypeError(f"a tag is up to 32 of a-z, 0-9 and _, got {text!r}")
    return text


def int_list(text: str) -> list[int]:
    try:
        return [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def positive_int(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return int(text)


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny model and sizes: checks the script runs")
    ap.add_argument("--results", type=Path, default=DEFAULT_RESULTS, help="folder for the JSON file and the plots")
    ap.add_argument("--work", type=Path, default=REPO / "runs" / "learning_signal",
                    help="tasks, rollouts, models (under quick/, full/ or full_TAG/)")
    ap.add_argument("--specs", type=Path, default=REPO / "specs", help="hand-written spec folder")
    ap.add_argument("--synth", type=Path, action="append", default=[],
                    help="`envdsl synth` output folder (its accepted/ domains are used); repeatable")
    ap.add_argument("--unseen", default="projects,tau2_airline,taubench_v1_airline",
                    help="hand-written domains held out of training (taubench_v1_airline is a near copy of "
                         "tau2_airline, so the two go together)")
    ap.add_argument("--vertical", default="tau2_retail", help="the phase-2 domain")
    ap.add_argument("--data-seed", type=int, default=0, help="task sampling and the unseen synthesised domains")
    ap.add_argument("--initial", choices=("generated", "mixed", "seed"), default="generated",
                    help="initial states of the tasks (`envdsl tasks --initial`), each generated one drawn from "
                         f"{GENERATED_STATES:,} per domain (default generated: every task its own people, so a "
                         "held-out task of a seen domain cannot be passed by remembering a training customer)")
    ap.add_argument("--seeds", type=int_list, default=None, help="training seeds, e.g. 0,1,2")
    ap.add_argument("--ks", type=int_list, default=None, help="domain counts of the scaling curve, e.g. 4,16,64,256")
    for name in ("budget", "main_budget", "main_synth", "main_epochs", "unseen_synth", "heldout_per_domain",
                 "vertical_heldout", "eval_tasks",
                 "epochs", "max_new_tokens", "max_turns", "tasks_per_domain", "synth_domains"):
        ap.add_argument(f"--{name.replace('_', '-')}", type=int, default=None,
                        help=f"default {getattr(FULL, name)} ({getattr(QUICK, name)} with --quick)")
    ap.add_argument("--arms", type=arm_list, default=list(ARMS),
                    help=f"which comparisons to train, comma-separated (default: all of {','.join(ARMS)})")
    ap.add_argument("--tag", default="", type=tag_name,
                    help="results go to learning_signal_TAG.json and learning_signal_TAG_*.png (default: no tag)")
    ap.add_argument("--jobs", type=positive_int, default=2,
                    help="worker processes training arms side by side, OMP_NUM_THREADS // JOBS threads each "
                         "(default 2; 1 runs every arm in this process)")
    ap.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                    help="run-config override for every arm, as `python -m train` takes them, e.g. "
                         "model.tiny.hidden_size=256 (repeatable)")
    ap.add_argument("--config", default=None, help=f"run config (default {FULL.config}; tiny_cpu with --quick)")
    return ap.parse_args()


def sizes_from(args: argparse.Namespace) -> Sizes:
    sizes = Sizes(**{**asdict(QUICK if args.quick else FULL)})
    for name in asdict(sizes):
        if getattr(args, name, None) is not None:
            setattr(sizes, name, getattr(args, name))
    if not sizes.seeds or not sizes.ks or min(sizes.ks) < 1:
        sys.exit("--seeds and --ks need at least one value, and every K must be positive")
    if sizes.budget < max(sizes.ks):
        # fewer conversations than domains: the largest K would really train on only `budget` domains
        sys.exit(f"--budget {sizes.budget} is below the largest K ({max(sizes.ks)}): every domain of a scaling arm "
                 "needs at least one conversation")
    if not sizes.tasks_per_domain:
        sizes.tasks_per_domain = math.ceil(sizes.budget / min(sizes.ks)) + max(sizes.heldout_per_domain,
                                                                                sizes.vertical_heldout)
    return sizes


def envdsl(*args: str) -> None:
    envdsl_at_once([list(args)])


def envdsl_at_once(runs: list[list[str]]) -> None:
    """`python -m envdsl ARGS` for every ARGS of `runs`, all at once, one process each; the first that fails ends
    the benchmark with its message."""
    logs = [tempfile.TemporaryFile(mode="w+") for _ in runs]  # files, not pipes: a full pipe would stall a run
    procs = [subprocess.Popen([sys.executable, "-m", "envdsl", *args], cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                              text=True) for args, log in zip(runs, logs)]
    codes = [proc.wait() for proc in procs]
    for args, code, log in zip(runs, codes, logs):
        log.seek(0)
        if code != 0:
            sys.exit(f"envdsl {args[0]} failed ({code}):\n{log.read().strip()}")
        log.close()


def split_evenly(items: list[Path], parts: int) -> list[list[Path]]:
    """`items` in at most `parts` runs of consecutive items, their sizes differing by at most one."""
    parts = max(1, min(parts, len(items)))
    size, extra = divmod(len(items), parts)
    bounds = [i * size + min(i, extra) for i in range(parts + 1)]
    return [items[a:b] for a, b in zip(bounds, bounds[1:])]


def domain_folders(folders: list[Path]) -> list[Path]:
    """The folders `envdsl tasks` is given, a folder that holds domains in subfolders (specs/) replaced by those
    subfolders, so that they can be sampled side by side."""
    out = []
    for folder in folders:
        subs = sorted(d for d in folder.iterdir() if d.is_dir() and any(d.rglob("*.env"))) if folder.is_dir() else []
        out += subs if subs and not any(folder.glob("*.env")) else [folder]
    return out


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, sort_keys=True) + "\n" for r in rows), encoding="utf-8")
    return path


def by_domain(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        out.setdefault(row["domain"], []).append(row)
    return out


# ---- data


def synth_domain_folders(folders: list[Path], count: int, seed: int) -> list[Path]:
    """The domain folders (one .env each) under the accepted/ folder of each `envdsl synth` output; `count` of them
    drawn with `seed` when count > 0, so a 2,500-domain run is not sampled and rolled out in full."""
    found = []
    for path in folders:
        if not path.is_dir():
            sys.exit(f"--synth {path}: no such folder")
        accepted = path / "accepted" if (path / "accepted").is_dir() else path
        found += sorted(d.resolve() for d in accepted.iterdir() if d.is_dir() and any(d.glob("*.env")))
    if folders and not found:
        sys.exit(f"--synth: no accepted domain folder under {', '.join(map(str, folders))}")
    if 0 < count < len(found):
        found = sorted(random.Random(seed).sample(found, count))
    return found


def sample_tasks(work: Path, sources: list[list[Path]], n: int, seed: int, initial: str = "generated",
                 processes: int = 1) -> list[list[dict[str, Any]]]:
    """`envdsl tasks FOLDER... -n N --initial INITIAL` per source: the tasks of each source, in file order. The
    domains are split over `processes` runs side by side; every domain has its own random stream, so the joined
    file is the one a single run writes."""
    out = []
    for i, folders in enumerate(sources):
        path = work / f"tasks-{i}.jsonl"
        options = ["-n", str(n), "--seed", str(seed), "--initial", initial, "--generated-states", str(GENERATED_STATES)]
        args = ["tasks", *map(str, folders), *options, "-o", str(path)]
        stamp = path.with_suffix(".command.json")
        # sampling is deterministic: a rerun with the same command reuses the tasks it wrote (minutes for ~300 domains)
        if folders and not (path.is_file() and stamp.is_file() and json.loads(stamp.read_text()) == args):
            chunks = split_evenly(domain_folders(folders), processes)
            parts = [work / f"tasks-{i}.part{j}.jsonl" for j in range(len(chunks))]
            envdsl_at_once([["tasks", *map(str, chunk), *options, "-o", str(part)]
                            for chunk, part in zip(chunks, parts)])
            path.write_text("".join(part.read_text(encoding="utf-8") for part in parts), encoding="utf-8")
            for part in parts:
                part.unlink()
            stamp.write_text(json.dumps(args), encoding="utf-8")
        out.append(read_tasks(path) if folders else [])
    return out


def write_tasks(path: Path, tasks: list[dict[str, Any]]) -> Path:
    """Tasks written to another file than the one they were sampled into: specs relative to the new file's folder
    (envdsl's portable task files), so every stage finds them, whatever its working folder."""
    return write_jsonl(path, relative_specs(tasks, path))


def oracle_rows(tasks: list[dict[str, Any]], out: Path, processes: int = 1) -> list[dict[str, Any]]:
    """The oracle's conversations of `tasks` that pass the filters (the training data format)."""
    if not tasks:
        return []
    # the input lies beside the run folder: `envdsl rollout` writes only into an empty folder or one of its own runs
    shutil.rmtree(out, ignore_errors=True)
    # the dataset is the same for any number of rollout processes (envdsl writes it in task order)
    envdsl("rollout", str(write_tasks(out.with_name(out.name + "-tasks.jsonl"), tasks)), "-o", str(out),
           "--agent", "oracle", "--workers", str(processes))
    return [row for shard in sorted((out / "dataset").glob("shard-*.jsonl")) for row in read_jsonl(shard)]


# ---- training


def load_run_config(sizes: Sizes, seed: int, out: Path, data_dir: Path, vertical: str, epochs: int = 1) -> Any:
    from train.config import load_config

    return load_config(sizes.config, [*sizes.config_overrides, f"seed={seed}", f"output_dir={out}",
                                      f"data.train_dir={data_dir}", f"data.vertical_domains=[{vertical}]",
                                      f"training.num_train_epochs={epochs}",
                                      f"phase2.num_train_epochs={epochs}", "training.disable_tqdm=true"])


def build_base(sizes: Sizes, seed: int, out: Path, rows: list[dict[str, Any]], vertical: str) -> str:
    """Tokenizer (trained on every training conversation of the seen domains) and seeded initial weights."""
    from train.phases import distributed_state, prepare_base

    data_dir = out / "data"
    write_jsonl(data_dir / "shard-00000.jsonl", rows)
    return prepare_base(load_run_config(sizes, seed, out, data_dir, vertical), rows, distributed_state())


def train_arm(sizes: Sizes, seed: int, out: Path, rows: list[dict[str, Any]], vertical: str, phase: int,
              start_from: str, epochs: int) -> dict[str, Any]:
    """One training phase on `rows` from the checkpoint `start_from`; its summary (final/ under out/)."""
    from train.data import load_trajectories
    from train.phases import PhaseStart, distributed_state, train_phase

    data_dir = out / f"data{phase}"
    write_jsonl(data_dir / "shard-00000.jsonl", rows)
    config = load_run_config(sizes, seed, out, data_dir, vertical, epochs)
    counts = {d: len(r) for d, r in sorted(by_domain(rows).items())}
    dataset = load_trajectories(data_dir).select_columns(["messages", "tools"])
    summary = train_phase(config, phase, dataset, PhaseStart(model_path=start_from, tokenizer_path=start_from,
                                                             adapter_path=None), counts, distributed_state())
    keys = ("conversations", "steps", "first_loss", "final_loss", "train_loss", "wall_time_s", "final_checkpoint")
    return {k: summary.get(k) for k in keys}


# ---- jobs: one arm of one seed


@dataclass
class Shared:
    """What every job reads: built once by main() and handed to each worker process once."""
    sizes: Sizes
    work: Path
    train_rows: dict[str, list[dict[str, Any]]]
    split: Any
    main: list[str]
    groups: dict[str, tuple[list[dict[str, Any]], Path]]


def run_job(shared: Shared, seed: int, job: str) -> dict[str, Any]:
    """Train and score one job from its seed's base; {"training": {arm: summary}, "scores": {arm: group scores}}."""
    from signal_score import score_groups

    sizes, split = shared.sizes, shared.split
    out = shared.work / f"seed{seed}"
    base = str(out / "base_build" / "base")
    vertical = split.vertical
    general = round_robin(shared.train_rows, shared.main, sizes.main_budget)
    vertical_rows = shared.train_rows.get(vertical, [])
    training: dict[str, Any] = {}
    scores: dict[str, Any] = {}

    def score(arm: str, checkpoint: str, names: tuple[str, ...]) -> None:
        scores[arm] = score_groups(checkpoint, {g: shared.groups[g] for g in names}, out / "eval" / arm,
                                   sizes.max_new_tokens, sizes.max_turns)

    epochs = sizes.main_epochs
    if job == "mixed":
        training["mixed"] = train_arm(sizes, seed, out / "mixed", general + vertical_rows, vertical, 1, base, epochs)
        score("mixed", training["mixed"]["final_checkpoint"], ("seen", "vertical", "unseen"))
    elif job == "two_phase":
        training["general_only"] = train_arm(sizes, seed, out / "two_phase", general, vertical, 1, base, epochs)
        score("general_only", training["general_only"]["final_checkpoint"], ("vertical",))
        training["two_phase"] = train_arm(sizes, seed, out / "two_phase", vertical_rows, vertical, 2,
                                          training["general_only"]["final_checkpoint"], epochs)
        score("two_phase", training["two_phase"]["final_checkpoint"], ("vertical",))
    else:
        k = int(job.removeprefix("scale_"))
        domains = scaling_subsets(split.seen, sizes.ks, seed)[k]
        rows = round_robin(shared.train_rows, domains, sizes.budget)
        training[job] = {**train_arm(sizes, seed, out / job, rows, vertical, 1, base, sizes.epochs),
                         "domains": domains}
        score(job, training[job]["final_checkpoint"], ("unseen",))
    return {"training": training, "scores": scores}


_SHARED: Shared | None = None


def _init_worker(shared: Shared, threads: int) -> None:
    global _SHARED
    _SHARED = shared
    import torch

    torch.set_num_threads(threads)


def timed_job(shared: Shared, seed: int, job: str) -> tuple[int, str, dict[str, Any], float]:
    """run_job with its seed, name and wall time in seconds."""
    began = time.perf_counter()
    return seed, job, run_job(shared, seed, job), round(time.perf_counter() - began, 1)


def _worker_job(seed: int, job: str) -> tuple[int, str, dict[str, Any], float]:
    assert _SHARED is not None
    return timed_job(_SHARED, seed, job)


def run_jobs(shared: Shared, jobs: list[tuple[int, str]], workers: int) -> tuple[dict[int, dict[str, Any]],
                                                                                  dict[str, float]]:
    """Every job, in `workers` processes of OMP_NUM_THREADS // workers threads each (in this process when 1).

    On a 2-core machine two one-thread processes get more done than one two-thread process: small matrices do not
    keep two threads busy, and TRL's per-step work is single-threaded (a bare bf16 training loop of a 4.2M model:
    4.9 conversations per second against 4.0). Each job is seeded and reads only its seed's base, so with the same
    number of threads per job the results do not depend on which worker ran it or in what order jobs finished."""
    per_seed: dict[int, dict[str, Any]] = {}
    seconds: dict[str, float] = {}
    workers = min(workers, len(jobs))  # a single job gets every thread

    def keep(seed: int, job: str, result: dict[str, Any], wall: float) -> None:
        mine = per_seed.setdefault(seed, {"training": {}, "scores": {}})
        mine["training"].update(result["training"])
        mine["scores"].update(result["scores"])
        seconds[f"seed{seed}/{job}"] = wall
        print(f"seed {seed} {job} done in {wall} s", flush=True)

    if workers <= 1:
        for seed, job in jobs:
            keep(*timed_job(shared, seed, job))
    else:
        import multiprocessing
        from concurrent.futures import ProcessPoolExecutor

        threads = max(1, int(os.environ["OMP_NUM_THREADS"]) // workers)
        # spawn, not fork: the parent has torch's thread pools (it built the bases), which a fork would inherit
        with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                 initializer=_init_worker, initargs=(shared, threads)) as pool:
            # results are taken in submission order whatever finishes first, so both paths fill per_seed in the
            # order of `jobs` (training_jobs: seeds ascending, the arms as the report lists them)
            for future in [pool.submit(_worker_job, seed, job) for seed, job in jobs]:
                keep(*future.result())
    return per_seed, seconds


# ---- aggregation and report


def aggregate(per_seed: dict[int, dict[str, Any]]) -> dict[str, dict[str, dict[str, Any]]]:
    """arm -> group -> metric -> spread over seeds."""
    arms: dict[str, dict[str, dict[str, Any]]] = {}
    first = next(iter(per_seed.values()))
    for arm, groups in first["scores"].items():
        for group in groups:
            arms.setdefault(arm, {})[group] = {
                m: spread([per_seed[s]["scores"].get(arm, {}).get(group, {}).get(m) for s in per_seed])
                for m in METRICS}
    return arms


def within_turns(rows: list[dict[str, Any]], tasks: int, max_turns: int) -> float | None:
    """Share of `tasks` whose oracle conversation (among `rows`) has at most `max_turns` assistant messages."""
    short = sum(sum(m["role"] == "assistant" for m in row["messages"]) <= max_turns for row in rows)
    return round(short / tasks, 4) if tasks else None


def fmt(cell: dict[str, Any]) -> str:
    return "-" if cell["mean"] is None else f"{cell['mean']:.3f}±{cell['std']:.3f}"


def report(summary: dict[str, Any], sizes: Sizes, split: Any, results: Path, stem: str) -> list[Path]:
    from signal_plots import plot_bars, plot_scaling

    arms = summary["arms"]
    n = len(sizes.seeds)
    floor = summary["do_nothing_pass1"]
    title = f"{'quick run, ' if summary['quick'] else ''}mean ± std over seeds {sizes.seeds}"
    plots = []
    results.mkdir(parents=True, exist_ok=True)
    if "mixed" in arms:
        print_table(f"\nmixed model ({len(summary['domains']['main'])} seen domains and {split.vertical}, one phase), "
                    f"mean±std over {n} seeds; do_nothing: pass^1 of an agent that never calls a tool; "
                    f"oracle: share of the tasks the oracle finished within {sizes.max_turns} turns",
                    ["group", *METRICS, "do_nothing", "oracle"],
                    [[g, *(fmt(arms["mixed"][g][m]) for m in METRICS), floor.get(g),
                      summary["oracle_within_max_turns"].get(g)] for g in arms["mixed"]])
        plots.append(plot_bars({g: arms["mixed"][g] for g in arms["mixed"]}, f"mixed model by held-out group ({title})",
                               results / f"{stem}_groups.png"))
    if "two_phase" in arms:
        compared = [a for a in ("two_phase", "mixed", "general_only") if a in arms]
        print_table(f"\n{split.vertical}: two-phase vs one mixed phase (same conversations and epochs)",
                    ["arm", *METRICS], [[a, *(fmt(arms[a]["vertical"][m]) for m in METRICS)] for a in compared])
        plots.append(plot_bars({a: arms[a]["vertical"] for a in compared},
                               f"{split.vertical}: two-phase vs one mixed phase ({title})",
                               results / f"{stem}_phases.png"))
    ks = summary["scaling"]["ks"]
    if ks:
        print_table(f"\nenvironment scaling: {sizes.budget} conversations over K domains, scored on "
                    f"{len(split.unseen)} unseen domains", ["K", *METRICS],
                    [[k, *(fmt(arms[f"scale_{k}"]["unseen"][m]) for m in METRICS)] for k in ks])
        plots.append(plot_scaling({"ks": ks, "by_k": {str(k): arms[f"scale_{k}"]["unseen"] for k in ks}},
                                  f"unseen domains vs training domains K ({title})", results / f"{stem}_scaling.png"))
    if summary["scaling"]["skipped_ks"]:
        print(f"skipped K (more than the {len(split.seen)} seen domains): {summary['scaling']['skipped_ks']}")
    for name, target in summary["targets"].items():
        print(f"target {name} {target['target']}: {target['verdict']} (mean {target['mean']})")
    return plots


def main() -> None:
    args = parse_args()
    sizes = sizes_from(args)
    if args.config:
        sizes.config = args.config
    sizes.config_overrides = [*sizes.config_overrides, *args.overrides]
    # a tagged run keeps its own tasks, models and evaluations: it would otherwise overwrite the untagged run's
    work = args.work.resolve() / (("quick" if args.quick else "full") + (f"_{args.tag}" if args.tag else ""))
    work.mkdir(parents=True, exist_ok=True)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()

    if not args.specs.is_dir():
        sys.exit(f"--specs {args.specs}: no such folder")
    synth_folders = synth_domain_folders(args.synth, sizes.synth_domains, args.data_seed)
    sources = [[args.specs.resolve()], synth_folders]
    # the data stage has the machine to itself: as many processes as the training jobs will have
    tasks_per_source = sample_tasks(work, sources, sizes.tasks_per_domain, args.data_seed, args.initial, args.jobs)
    hand = sorted({t["domain"] for t in tasks_per_source[0]})
    synth = sorted({t["domain"] for ts in tasks_per_source[1:] for t in ts} - set(hand))
    try:
        split = split_domains(hand, synth, args.vertical, [d for d in args.unseen.split(",") if d],
                              min(sizes.unseen_synth, len(synth)), args.data_seed)
    except ValueError as e:
        sys.exit(str(e))
    tasks = by_domain([t for ts in tasks_per_source for t in ts])
    main_pool = main_domains(split, hand, sizes.main_synth, args.data_seed)
    scaled = [scaling_subsets(split.seen, sizes.ks, seed) for seed in sizes.seeds] if "scaling" in args.arms else []
    main_budget = sizes.main_budget if {"mixed", "two_phase"} & set(args.arms) else 0
    needs = conversation_needs(main_pool, main_budget, scaled, sizes.budget)

    train_tasks, heldout = [], {"seen": {}, "vertical": {}, "unseen": {}}
    for domain in split.seen:
        if domain in main_pool:
            heldout["seen"][domain] = tasks[domain][-sizes.heldout_per_domain:]
        train_tasks += tasks[domain][:-sizes.heldout_per_domain][:with_margin(needs.get(domain, 0))]
    heldout["vertical"][split.vertical] = tasks[split.vertical][-sizes.vertical_heldout:]
    train_tasks += tasks[split.vertical][:-sizes.vertical_heldout]
    for domain in split.unseen:
        heldout["unseen"][domain] = tasks[domain]
    group_tasks = {g: round_robin(per, sorted(per), sizes.eval_tasks) for g, per in heldout.items()}

    train_rows = by_domain(oracle_rows(train_tasks, work / "rollouts" / "train", args.jobs))
    main_pool = [d for d in main_pool if d in train_rows]  # a domain whose every oracle conversation was filtered out
    heldout_rows = oracle_rows([t for g in group_tasks.values() for t in g], work / "rollouts" / "heldout", args.jobs)
    groups = {}
    for g, ts in group_tasks.items():
        ids = {t["task_id"] for t in ts}
        groups[g] = ([r for r in heldout_rows if r["task_id"] in ids], write_tasks(work / f"heldout-{g}.jsonl", ts))
    timings["data_s"] = round(time.perf_counter() - t0, 1)
    print(f"domains: {len(split.seen)} seen, vertical {split.vertical}, {len(split.unseen)} unseen "
          f"({', '.join(split.unseen)}); training conversations: {sum(len(r) for r in train_rows.values())}; "
          f"held-out tasks: " + ", ".join(f"{g} {len(ts)}" for g, ts in group_tasks.items()), flush=True)

    every = [row for d in sorted(train_rows) for row in train_rows[d]]
    for seed in sizes.seeds:  # each seed's tokenizer and initial weights, before any job of that seed starts
        build_base(sizes, seed, work / f"seed{seed}" / "base_build", every, split.vertical)
    timings["bases_s"] = round(time.perf_counter() - t0 - timings["data_s"], 1)
    shared = Shared(sizes, work, train_rows, split, main_pool, groups)
    jobs = training_jobs(sizes.seeds, args.arms, sizes.ks, split.seen)
    per_seed, timings["jobs_s"] = run_jobs(shared, jobs, args.jobs)
    timings["total_s"] = round(time.perf_counter() - t0, 1)

    arms = aggregate(per_seed)
    ks = [k for k in sizes.ks if f"scale_{k}" in arms]
    steps = {s: {a: per_seed[s]["training"][a]["steps"] for a in ("mixed", "general_only", "two_phase")
                 if a in per_seed[s]["training"]} for s in per_seed}
    stem = "learning_signal" + (f"_{args.tag}" if args.tag else "")
    summary = {
        "quick": args.quick, "command": " ".join([Path(sys.argv[0]).name, *sys.argv[1:]]), "sizes": asdict(sizes),
        "data_seed": args.data_seed, "omp_num_threads": os.environ["OMP_NUM_THREADS"],
        "sources": {"specs": str(args.specs.resolve()), "synth": [str(p) for p in args.synth],
                    "synth_domains_drawn": len(synth_folders)},
        "domains": {"seen": split.seen, "main": main_pool, "vertical": split.vertical, "unseen": split.unseen},
        "heldout_tasks": {g: len(ts) for g, ts in group_tasks.items()},
        # share of each group's held-out tasks that an agent never calling a tool would pass (pass^1's floor)
        "do_nothing_pass1": {g: round(sum(map(do_nothing_passes, ts)) / len(ts), 4) if ts else None
                             for g, ts in group_tasks.items()},
        # share of each group's held-out tasks whose oracle conversation took at most --max-turns agent turns
        # (pass^1's ceiling: a model given fewer turns than the task needs cannot pass it)
        "oracle_within_max_turns": {g: within_turns(rows, len(group_tasks[g]), sizes.max_turns)
                                    for g, (rows, _) in groups.items()},
        "heldout_conversations": {g: len(rows) for g, (rows, _) in groups.items()},
        "training_conversations": {d: len(r) for d, r in sorted(train_rows.items())},
        "steps": steps,  # mixed vs general_only + two_phase: the same conversations, the same steps up to rounding
        "arms_run": args.arms,
        "scaling": {"ks": ks, "skipped_ks": [k for k in sizes.ks if k not in ks and "scaling" in args.arms],
                    "budget": sizes.budget},
        "arms": arms,
        "targets": check_targets(arms["mixed"]["seen"]["pass^1"], arms["mixed"]["unseen"]["pass^1"])
        if "mixed" in arms else {},
        "per_seed": per_seed, "timings": timings,
    }
    plots = report(summary, sizes, split, args.results, stem)
    summary["plots"] = [p.name for p in plots]
    print("timings:", timings)
    write_results(args.results, stem, summary)


if __name__ == "__main__":
    main()
