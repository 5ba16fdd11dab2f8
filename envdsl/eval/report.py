"""`envdsl report RUN_DIR...`: one static HTML page over one or more rollout/eval folders.

The page holds pass^k per domain as an SVG chart (one bar per run, side by side, with the 95% bootstrap
interval as a whisker) and as a table, the filter's rejection reasons per run, a table of every
conversation with links, and a conversation viewer: the messages, tool calls and results, the filter
verdict and the final state's difference from the gold state.

It is self-contained (inline CSS, SVG and a few lines of inline script; nothing fetched, so it opens
offline) and deterministic (no timestamps; same folders, same bytes). Conversations are untrusted
(LLM output), so every text reaches the page through `esc` (html.escape with quotes) and element ids are
made by the report, never taken from the data; the inline script reads no data from the page.

The final states are not stored in a run, so they are rebuilt here: the task's initial state, then the
agent's calls (and, for the gold state, the gold calls), replayed on a fresh environment; environments
are deterministic, so this is the state the conversation ended in.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any, Callable

from envdsl.eval.passk import passk_report
from envdsl.rollout.filters import FilterConfig
from envdsl.rollout.identity import read_run
from envdsl.rollout.runner import RolloutConfig, judge_records, load_records
from envdsl.runtime.diff import state_diff
from envdsl.tasks.initial import reset_to_initial
from envdsl.tasks.io import TaskFileError, read_tasks

COLOURS = ["#3b6fb6", "#d9822b", "#2e9e5b", "#b03a48", "#7a5ab8", "#6b6b6b"]


def esc(value: Any) -> str:
    """Any value as HTML text: the one way data reaches the page."""
    return html.escape(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False), quote=True)


# ---- reading runs

def load_run(folder: str | Path, load_env: Callable[[str], Any], max_conversations: int = 500) -> dict[str, Any]:
    """What the page shows of one run folder: identity, pass^k, reasons and the conversations (at most
    `max_conversations` of them in the viewer, failures first; the figures always count every one)."""
    out = Path(folder)
    if not (out / "tasks.jsonl").is_file() or not (out / "runs").is_dir():
        raise TaskFileError(f"{folder}: not a rollout folder (expected tasks.jsonl and runs/ from `envdsl rollout` "
                            "or `envdsl eval -o`)")
    tasks = read_tasks(out / "tasks.jsonl")
    records = load_records(out, tasks)
    if not records:
        raise TaskFileError(f"{folder}: holds no finished conversations")
    run = read_run(out)
    summary = _read_json(out / "summary.json")
    filters = FilterConfig(**{k: v for k, v in (summary.get("filters") or {}).items()
                              if k in FilterConfig.__dataclass_fields__})
    records = judge_records(records, tasks, load_env, RolloutConfig(), filters)
    trials = min(_trial_counts(records).values())
    ks = sorted({1, trials})
    outcomes = [{"task_id": r["task_id"], "domain": r["domain"], "trial": r["trial"],
                 "success": r["verdict"]["success"]} for r in records]
    reasons: dict[str, int] = {}
    for r in records:
        for reason in r["verdict"]["reasons"]:
            reasons[reason] = reasons.get(reason, 0) + 1
    by_id = {t["task_id"]: t for t in tasks}
    shown = sorted(records, key=lambda r: (r["verdict"]["success"], r["domain"], r["task_id"], r["trial"]))
    shown = shown[:max_conversations]
    for r in shown:
        r["state_diff"] = _gold_difference(by_id[r["task_id"]], r, load_env)
    return {"folder": out.as_posix(), "agent": run.get("agent") or records[0].get("agent"),
            "user": run.get("user") or records[0].get("user"), "run": run, "ks": ks,
            "passk": passk_report(outcomes, ks), "reasons": dict(sorted(reasons.items())),
            "conversations": len(records), "kept": sum(r["verdict"]["keep"] for r in records),
            "shown": sorted(shown, key=lambda r: (r["domain"], r["task_id"], r["trial"])), "tasks": by_id}


def _trial_counts(records: list[dict[str, Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in records:
        counts[r["task_id"]] = counts.get(r["task_id"], 0) + 1
    return counts


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


_classes: dict[str, Any] = {}


def _gold_difference(task: dict[str, Any], record: dict[str, Any], load_env: Callable[[str], Any]
                     ) -> list[dict[str, Any]] | None:
    """The changes from the gold final state to the conversation's final state ([] when equal); None when
    the spec cannot be loaded here."""
    spec = task.get("spec")
    if not spec:
        return None
    if spec not in _classes:
        _classes[spec] = type(load_env(spec))

    def final(calls: list[dict[str, Any]]) -> Any:
        env = _classes[spec]()
        initial = task.get("initial") or {"kind": "seed"}
        reset_to_initial(env, initial)  # a generated state made again as the sampler made it
        for c in calls:
            env.call(c["name"], c["arguments"])
        return env.state()

    return state_diff(final(task["gold_calls"]), final(record.get("agent_calls") or []))


# ---- rendering

CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:0;color:#222;background:#fafafa}
header,section{max-width:1100px;margin:0 auto;padding:12px 20px}
h1{font-size:22px;margin:12px 0 4px}h2{font-size:18px;border-bottom:1px solid #ddd;padding-bottom:4px}
table{border-collapse:collapse;margin:8px 0}
td,th{border:1px solid #ddd;padding:3px 8px;text-align:left;vertical-align:top}
th{background:#f0f0f0}.ok{color:#1d7a3e;font-weight:600}.bad{color:#b03a48;font-weight:600}
.conv{border:1px solid #ccc;border-radius:6px;background:#fff;margin:14px 0;padding:8px 12px}
.msg{margin:6px 0;padding:6px 10px;border-radius:6px;white-space:pre-wrap;word-wrap:break-word}
.system{background:#eee;color:#555;font-size:12px}.user{background:#e7f0fb}.assistant{background:#f3f3f3}
.tool{background:#fdf6e3;font-family:monospace;font-size:12px}.role{font-weight:600;font-size:11px;
text-transform:uppercase;color:#666;display:block}.call{font-family:monospace;font-size:12px;background:#fff;
border:1px dashed #aaa;padding:4px;margin-top:4px}.legend span{display:inline-block;width:12px;height:12px;
margin:0 4px 0 12px;vertical-align:middle}code,pre{font-size:12px}pre{white-space:pre-wrap;margin:0}
.hidden{display:none}
"""

# Reads nothing from the data: it only hides and shows rows by a class the report itself set.
SCRIPT = """
(function(){
  var box=document.getElementById('only-failed');
  function apply(){
    var rows=document.querySelectorAll('tr.conv-row.success');
    for(var i=0;i<rows.length;i++){rows[i].classList.toggle('hidden',box.checked);}
  }
  box.addEventListener('change',apply);apply();
  document.body.setAttribute('data-ready','1');
})();
"""


def render_report(runs: list[dict[str, Any]]) -> str:
    """The whole page for runs loaded with load_run."""
    for r, label in zip(runs, _labels([r["folder"] for r in runs])):
        r["label"] = label
    parts = ["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
             '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; style-src \'unsafe-inline\'; '
             'script-src \'sha256-' + _script_hash() + '\'; img-src data:">',
             "<title>envdsl report</title>", f"<style>{CSS}</style></head><body>",
             "<header><h1>envdsl report</h1><p>" + esc(f"{len(runs)} run(s): ")
             + ", ".join(f"<b>{esc(r['label'])}</b> = {esc(r['folder'])} (agent <code>{esc(r['agent'])}</code>, user "
                         f"<code>{esc(r['user'])}</code>)" for r in runs) + "</p></header>"]
    parts.append(_passk_section(runs))
    parts.append(_reasons_section(runs))
    parts.append(_conversation_index(runs))
    parts.append(_conversations(runs))
    parts.append(f"<script>{SCRIPT}</script></body></html>")
    return "\n".join(parts) + "\n"


def _labels(folders: list[str]) -> list[str]:
    """Short names for the runs: each folder relative to what all share (`oracle`, `phase1` for
    runs/eval/oracle and runs/eval/phase1), numbered when the same folder is given twice."""
    import os

    paths = [Path(f).resolve() for f in folders]
    if len(paths) == 1:
        labels = [paths[0].name or folders[0]]
    else:
        common = Path(os.path.commonpath([str(p) for p in paths]))
        labels = [p.relative_to(common).as_posix() if p != common else p.name for p in paths]
    seen: dict[str, int] = {}
    out = []
    for label in labels:
        seen[label] = seen.get(label, 0) + 1
        out.append(label if seen[label] == 1 else f"{label} #{seen[label]}")
    return out


def _script_hash() -> str:
    import base64
    import hashlib

    return base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()


def _domains(runs: list[dict[str, Any]]) -> list[str]:
    names = sorted({d for r in runs for d in r["passk"] if d != "all"})
    return names + ["all"]


def _passk_section(runs: list[dict[str, Any]]) -> str:
    domains = _domains(runs)
    bar_w, gap, group_gap, height, top, left = 22, 4, 26, 220, 20, 44
    group_w = len(runs) * (bar_w + gap) + group_gap
    width = left + len(domains) * group_w + 20
    svg = [f'<svg id="passk-chart" width="{width}" height="{height + 70}" '
           f'role="img" aria-label="pass^1 per domain">']
    for i in range(0, 11, 2):
        y = top + height - height * i / 10
        svg.append(f'<line x1="{left}" x2="{width - 10}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e3e3e3"/>'
                   f'<text x="{left - 6}" y="{y + 4:.1f}" font-size="11" text-anchor="end">{i / 10:.1f}</text>')
    for d_i, domain in enumerate(domains):
        x0 = left + d_i * group_w + group_gap / 2
        for r_i, run in enumerate(runs):
            row = run["passk"].get(domain)
            if not row or row.get("pass^1") is None:
                continue
            value, (lo, hi) = row["pass^1"], row.get("pass^1 ci") or (row["pass^1"], row["pass^1"])
            x = x0 + r_i * (bar_w + gap)
            h = max(height * value, 2.0)  # a zero score is a sliver on the axis, not a missing bar
            y = top + height - h
            colour = COLOURS[r_i % len(COLOURS)]
            svg.append(f'<rect class="bar" data-run="{r_i}" x="{x:.1f}" y="{y:.1f}" width="{bar_w}" height="{h:.1f}" '
                       f'fill="{colour}"><title>{esc(run["agent"])} on {esc(domain)}: pass^1 {value:.3f} '
                       f'[{lo:.2f}, {hi:.2f}]</title></rect>')
            cx = x + bar_w / 2
            svg.append(f'<text x="{cx:.1f}" y="{y - 3:.1f}" font-size="9" text-anchor="middle">{value:.2f}</text>')
            svg.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{top + height * (1 - hi):.1f}" '
                       f'y2="{top + height * (1 - lo):.1f}" stroke="#222" stroke-width="1.5"/>')
        svg.append(f'<text x="{x0 + len(runs) * (bar_w + gap) / 2:.1f}" y="{top + height + 16}" font-size="12" '
                   f'text-anchor="middle">{esc(domain)}</text>')
    svg.append("</svg>")
    legend = '<p class="legend">' + "".join(
        f'<span style="background:{COLOURS[i % len(COLOURS)]}"></span>{esc(r["label"])} ({esc(r["agent"])})'
        for i, r in enumerate(runs)) + "</p>"
    head = "<tr><th>run</th><th>agent</th><th>domain</th><th>tasks</th><th>trials</th><th>pass^k [95% CI]</th></tr>"
    rows = []
    for r in runs:
        for domain, row in r["passk"].items():
            cells = "; ".join(f"pass^{k} {row[f'pass^{k}']:.3f} [{row[f'pass^{k} ci'][0]:.2f}, "
                              f"{row[f'pass^{k} ci'][1]:.2f}]" for k in r["ks"] if row.get(f"pass^{k}") is not None)
            rows.append(f"<tr><td>{esc(r['label'])}</td><td><code>{esc(r['agent'])}</code></td><td>{esc(domain)}</td>"
                        f"<td>{row['tasks']}</td><td>{row['trials']}</td><td>{esc(cells)}</td></tr>")
    return ("<section id=\"passk\"><h2>pass^k per domain</h2>"
            "<p>pass^k: the chance that k independent trials of a task all succeed (final state equals the gold "
            "state; for read-only tasks the gold calls were made), averaged over tasks. Bars: pass^1; whiskers: 95% "
            "percentile bootstrap over tasks (1000 resamples, seed 0).</p>"
            + legend + "".join(svg) + f"<table>{head}{''.join(rows)}</table></section>")


def _reasons_section(runs: list[dict[str, Any]]) -> str:
    reasons = sorted({k for r in runs for k in r["reasons"]})
    head = "<tr><th>reason</th>" + "".join(f"<th>{esc(r['label'])}</th>" for r in runs) + "</tr>"
    rows = [f"<tr><td><code>{esc(reason)}</code></td>" + "".join(f"<td>{r['reasons'].get(reason, 0)}</td>"
                                                               for r in runs) + "</tr>" for reason in reasons]
    totals = "<tr><th>kept / conversations</th>" + "".join(f"<td>{r['kept']} / {r['conversations']}</td>"
                                                           for r in runs) + "</tr>"
    return (f'<section id="reasons"><h2>Rejection reasons</h2><p>Why the filters rejected conversations (one may '
            f'have several reasons; see docs/rollout.md).</p><table>{head}{"".join(rows)}{totals}</table></section>')


def _anchor(run_i: int, conv_i: int) -> str:
    return f"r{run_i}-c{conv_i}"


def _conversation_index(runs: list[dict[str, Any]]) -> str:
    parts = ['<section id="index"><h2>Conversations</h2><label><input type="checkbox" id="only-failed"> only '
             'failed conversations</label>']
    for r_i, r in enumerate(runs):
        shown = r["shown"]
        parts.append(f"<h3>{esc(r['label'])} (agent <code>{esc(r['agent'])}</code>): {len(shown)} of "
                     f"{r['conversations']} shown</h3><table><tr><th>task</th><th>domain</th><th>trial</th>"
                     "<th>success</th><th>reasons</th></tr>")
        for c_i, rec in enumerate(shown):
            ok = rec["verdict"]["success"]
            parts.append(f'<tr class="conv-row {"success" if ok else "failure"}"><td><a href="#{_anchor(r_i, c_i)}">'
                         f'{esc(rec["task_id"])}</a></td><td>{esc(rec["domain"])}</td><td>{int(rec["trial"])}</td>'
                         f'<td class="{"ok" if ok else "bad"}">{"yes" if ok else "no"}</td>'
                         f'<td>{esc(", ".join(rec["verdict"]["reasons"]) or "-")}</td></tr>')
        parts.append("</table>")
    return "".join(parts) + "</section>"


def _conversations(runs: list[dict[str, Any]]) -> str:
    parts = ['<section id="viewer"><h2>Conversation viewer</h2>']
    for r_i, r in enumerate(runs):
        for c_i, rec in enumerate(r["shown"]):
            parts.append(_conversation(r_i, c_i, r, rec))
    return "".join(parts) + "</section>"


def _conversation(r_i: int, c_i: int, run: dict[str, Any], rec: dict[str, Any]) -> str:
    task = run["tasks"][rec["task_id"]]
    v = rec["verdict"]
    out = [f'<div class="conv" id="{_anchor(r_i, c_i)}"><h3>{esc(rec["task_id"])} trial {int(rec["trial"])} '
           f'<small>({esc(run["label"])}, agent <code>{esc(run["agent"])}</code>)</small></h3>',
           f'<p>verdict: <span class="{"ok" if v["success"] else "bad"}">{"success" if v["success"] else "failure"}'
           f'</span>; {"kept" if v["keep"] else "rejected: " + esc(", ".join(v["reasons"]))}; ended '
           f'<code>{esc(rec.get("ended"))}</code>' + (f"; error: {esc(rec['error'])}" if rec.get("error") else "")
           + f'</p><p>goal: {esc(task.get("goal", ""))}</p>',
           "<details><summary>gold calls</summary><pre>" + esc("\n".join(
               f"{c['name']}({c['arguments']})" + ("" if c.get("ok") else "  -> fails")
               for c in task["gold_calls"])) + "</pre></details>"]
    for m in rec.get("messages") or []:
        role = m.get("role") if m.get("role") in ("system", "user", "assistant", "tool") else "other"
        label = role + (f" · {m.get('name')}" if role == "tool" and m.get("name") else "")
        body = [f'<div class="msg {role}"><span class="role">{esc(label)}</span>{esc(m.get("content") or "")}']
        for call in m.get("tool_calls") or []:
            fn = call.get("function") or {}
            body.append(f'<div class="call">call <b>{esc(fn.get("name", "?"))}</b> '
                        f'<code>{esc(_pretty(fn.get("arguments")))}</code></div>')
        body.append("</div>")
        out.append("".join(body))
    diff = rec.get("state_diff")
    if diff is None:
        out.append("<p>state difference: not available (spec not found here)</p>")
    elif not diff:
        out.append('<p>final state: <span class="ok">equals the gold state</span></p>')
    else:
        rows = "".join(f"<tr><td><code>{esc('.'.join(str(p) for p in d['path']))}</code></td><td>{esc(d['op'])}</td>"
                       f"<td><pre>{_side(d, 'before')}</pre></td><td><pre>{_side(d, 'after')}</pre></td></tr>"
                       for d in diff[:50])
        more = f"<p>... and {len(diff) - 50} more</p>" if len(diff) > 50 else ""
        out.append('<p>final state: <span class="bad">differs from the gold state</span></p><table class="diff">'
                   f"<tr><th>path</th><th>change</th><th>gold</th><th>this conversation</th></tr>{rows}</table>{more}")
    out.append('<p><a href="#index">back to the list</a></p></div>')
    return "".join(out)


def _side(change: dict[str, Any], key: str) -> str:
    return esc(change[key]) if key in change else "<i>(absent)</i>"


def _pretty(arguments: Any) -> str:
    if isinstance(arguments, str):
        try:
            return json.dumps(json.loads(arguments), ensure_ascii=False, sort_keys=True)
        except ValueError:
            return arguments
    return json.dumps(arguments, ensure_ascii=False, sort_keys=True)
