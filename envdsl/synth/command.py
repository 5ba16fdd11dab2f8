"""The `envdsl synth` command (registered in envdsl/cli.py). Heavy imports happen only when it runs."""

from __future__ import annotations

import sys

import click


@click.command("synth")
@click.argument("inputs", nargs=-1, required=True)
@click.option("-o", "--out", required=True, help="Output folder; rerun with the same one to resume.")
@click.option("--writer", default="heuristic", show_default=True,
              help="heuristic (offline), or openai:MODEL for an OpenAI-compatible server (see --base-url).")
@click.option("--workers", type=int, default=2, show_default=True, help="Processes (heuristic) or threads (LLM).")
@click.option("--max-domains", type=int, default=None, help="Process only the first K planned domains.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--executor", type=click.Choice(["auto", "process", "thread", "ray"]), default="auto",
              show_default=True, help="auto: processes for the heuristic writer, threads for LLM writers.")
@click.option("--gate", "gate_mode", type=click.Choice(["proptest", "smoke"]), default="proptest", show_default=True,
              help="proptest: `envdsl test`'s properties; smoke: every tool called once on the seed.")
@click.option("--examples", type=int, default=2, show_default=True, help="Hypothesis examples per gate test.")
@click.option("--timeout", type=int, default=120, show_default=True,
              help="Seconds per domain (process and Ray workers; an LLM domain gets at least --llm-timeout per round).")
@click.option("--cap-per-api", type=int, default=40, show_default=True, help="Most tools sampled from one API.")
@click.option("--threshold", type=float, default=None,
              help="Cosine similarity of tool vectors for a graph edge [default: 0.45 minilm, 0.6 tfidf].")
@click.option("--min-size", type=int, default=4, show_default=True, help="Smallest domain (tools).")
@click.option("--max-size", type=int, default=24, show_default=True, help="Largest domain (tools).")
@click.option("--embedder", type=click.Choice(["auto", "tfidf", "minilm"]), default="auto", show_default=True,
              help="auto: minilm when torch and sentence-transformers are installed, else tfidf.")
@click.option("--base-url", default=None, help="OpenAI-compatible server (default: $OPENAI_BASE_URL).")
@click.option("--rounds", type=int, default=3, show_default=True, help="LLM repair rounds after the first draft.")
@click.option("--rpm", "requests_per_minute", type=float, default=0.0, help="LLM requests per minute (0: no limit).")
@click.option("--llm-timeout", type=click.FloatRange(min=1), default=600.0, show_default=True,
              help="Seconds one LLM request may take (a whole spec is a long reply).")
@click.option("--max-tokens", type=click.IntRange(min=1), default=8192, show_default=True,
              help="Most tokens of one LLM reply.")
@click.option("--ray-address", default=None,
              help="--executor ray: a running cluster (ray://HOST:10001 or HOST:6379); default $RAY_ADDRESS, "
                   "else a local one.")
@click.option("--no-progress", is_flag=True, help="Plain log lines instead of a progress bar.")
def synth_cmd(inputs: tuple[str, ...], out: str, writer: str, workers: int, max_domains: int | None, seed: int,
              executor: str, gate_mode: str, examples: int, timeout: int, cap_per_api: int, threshold: float | None,
              min_size: int, max_size: int, embedder: str, base_url: str | None, rounds: int,
              requests_per_minute: float, llm_timeout: float, max_tokens: int, ray_address: str | None,
              no_progress: bool) -> None:
    """Synthesise environments in bulk from tool collections (JSONL, OpenAI function lists, OpenAPI).

    Tools are sampled per API, linked by the similarity of their parameters, grouped into domains
    (Louvain communities), written as specs with seed data, and gated; accepted/ and rejected/ (with
    reasons) go under OUT, with journal.jsonl (resume) and summary.json.
    """
    from envdsl.synth.embed import default_embedder
    from envdsl.synth.graph import GraphConfig
    from envdsl.synth.pipeline import SynthConfig, run_synth

    if writer != "heuristic" and not writer.startswith("openai:"):
        raise click.BadParameter("expected heuristic or openai:MODEL", param_hint="--writer")
    if executor == "ray":
        from envdsl.synth.ray_executor import require_ray

        require_ray()
    graph = GraphConfig(cap_per_api=cap_per_api, threshold=threshold, min_size=min_size, max_size=max_size,
                        embedder=default_embedder() if embedder == "auto" else embedder, seed=seed)
    cfg = SynthConfig(inputs=list(inputs), out=out, writer=writer, workers=workers, max_domains=max_domains,
                      seed=seed, executor=executor, gate_mode=gate_mode, examples=examples, timeout=timeout,
                      graph=graph, base_url=base_url, rounds=rounds, requests_per_minute=requests_per_minute,
                      llm_timeout=llm_timeout, max_tokens=max_tokens, ray_address=ray_address)
    summary = run_synth(cfg, progress=not no_progress)
    click.echo(render_summary(summary))
    crashed = summary["rejected_by_reason"].get("synth_error", 0)
    if crashed:
        # a domain whose writer or gate raised is envdsl's failure, not the spec's: a missing dependency
        # or a bug must not pass for a run that merely rejected domains
        click.echo(f"error: {crashed} domain(s) failed with an internal error, not a verdict of the gate "
                   f"(reason synth_error; the error of each is in {out}/rejected/DOMAIN/verdict.json)", err=True)
        sys.exit(1)


def render_summary(s: dict) -> str:
    reasons = ", ".join(f"{k} {v}" for k, v in s["rejected_by_reason"].items()) or "none"
    lines = [f"domains found {s['domains_found']}, processed {s['domains_done']}/{s['domains_planned']}: "
             f"accepted {s['accepted']}, rejected {s['rejected']} ({reasons})",
             f"tools covered {s['tools_covered']} of {s['tools_in_domains']} in domains "
             f"({s['graph']['tools_sampled']} sampled of {s['graph']['tools_input']}), APIs {s['apis_covered']}",
             f"time {s['seconds_this_run']}s this run, {s['worker_seconds_total']}s of worker time in all"]
    if s["llm_calls"]:
        def per(key: str) -> str:  # nothing accepted: there is no figure per accepted domain
            return "n/a" if s[key] is None else str(s[key])

        lines.append(f"LLM calls {s['llm_calls']} ({per('llm_calls_per_accepted')} per accepted domain), tokens "
                     f"{s['llm_tokens']} ({per('llm_tokens_per_accepted')} per accepted domain)")
    return "\n".join(lines)
