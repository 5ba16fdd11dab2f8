"""`envdsl report`: one static page, rendered by headless Chromium and checked as a page (scripts ran, chart
drawn, links resolve, untrusted conversation text shown as text and never run)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from envdsl.cli import main

FIXTURES = Path(__file__).parent / "fixtures" / "pipeline"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run"]
PAYLOAD = ('<script>document.body.setAttribute("data-pwned","1")</script>'
           '<img src=x onerror="document.title=\'PWNED\'"> & "quotes" </div></section>')


def _invoke(*args):
    r = CliRunner().invoke(main, [str(a) for a in args])
    assert r.exit_code == 0, r.output
    return r


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    tasks = root / "tasks.jsonl"
    _invoke("tasks", FIXTURES, "-n", "4", "--seed", "5", "-o", tasks)
    _invoke("eval", tasks, "-o", root / "oracle", "--trials", "2")
    _invoke("eval", tasks, "-o", root / "flaky", "--agent", "flaky:0.6", "--trials", "2")
    # an LLM's reply is untrusted text: plant markup in one conversation as a model could have written it
    victim = sorted((root / "flaky" / "runs").glob("*.json"))[0]
    record = json.loads(victim.read_text())
    record["messages"][2]["content"] = PAYLOAD
    victim.write_text(json.dumps(record))
    return root


def _dom(page: Path) -> str:
    done = subprocess.run([CHROMIUM, *CHROMIUM_FLAGS, "--virtual-time-budget=2000", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_the_report_renders_in_a_browser_and_escapes_conversations(runs, tmp_path):
    page = tmp_path / "report.html"
    r = _invoke("report", runs / "oracle", runs / "flaky", "-o", page)
    assert "agent oracle" in r.output and "agent flaky:0.6" in r.output
    text = page.read_text()
    assert "http://" not in text and "https://" not in text  # self-contained: nothing to fetch
    dom = _dom(page)
    assert 'data-ready="1"' in dom  # the page's own script ran
    body = re.search(r"<body[^>]*>", dom).group(0)
    assert "data-pwned" not in body and "<title>PWNED" not in dom and "<title>envdsl report</title>" in dom
    assert "&lt;script&gt;document.body.setAttribute" in dom  # the payload is shown, as text
    # the chart: one bar per (domain, run), side by side, for helpdesk, rental and all
    bars = re.findall(r'<rect class="bar" data-run="(\d)"', dom)
    assert sorted(bars) == ["0"] * 3 + ["1"] * 3
    # every link in the index leads to a conversation on the page
    targets = set(re.findall(r'href="#(r\d+-c\d+)"', dom))
    ids = set(re.findall(r'id="(r\d+-c\d+)"', dom))
    assert targets and targets == ids and len(ids) == 2 * 8 * 2
    assert "Rejection reasons" in dom and "state_mismatch" in dom
    assert "differs from the gold state" in dom and "equals the gold state" in dom
    # same runs, same bytes
    again = tmp_path / "again.html"
    _invoke("report", runs / "oracle", runs / "flaky", "-o", again)
    assert again.read_bytes() == page.read_bytes()


def test_the_failed_only_filter_works_in_the_browser(runs, tmp_path):
    page = tmp_path / "report.html"
    _invoke("report", runs / "flaky", "-o", page)
    # tick the box before the script runs, as a user would: successful rows are hidden, failures stay
    html = page.read_text().replace('id="only-failed"', 'id="only-failed" checked')
    page.write_text(html)
    dom = _dom(page)
    hidden = re.findall(r'<tr class="conv-row success hidden">', dom)
    shown = re.findall(r'<tr class="conv-row failure">', dom)
    assert hidden and shown


def test_report_of_a_folder_that_is_not_a_run_is_a_user_error(tmp_path):
    r = CliRunner().invoke(main, ["report", str(tmp_path), "-o", str(tmp_path / "r.html")])
    assert r.exit_code == 1 and "not a rollout folder" in r.output and not (tmp_path / "r.html").exists()
