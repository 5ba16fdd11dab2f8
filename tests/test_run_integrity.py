"""Numbers a researcher can trust: run identity, backend failures that stop a run, user errors that are
user errors, portable task files and the rollout flags reaching LLM agents and users."""

from __future__ import annotations

import json
import shutil
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from envdsl.cli import main
from envdsl.tasks.goals import CountingGoalWriter

FIXTURES = Path(__file__).parent / "fixtures" / "pipeline"


def _invoke(*args: str, **kw):
    return CliRunner().invoke(main, list(args), **kw)


def _clean_exit(r, codes=(1, 2)):
    """An answer to bad input: a message and exit 1 or 2, never a traceback or the internal-error line."""
    assert r.exit_code in codes, (r.exit_code, r.output, r.exception)
    assert r.exception is None or isinstance(r.exception, SystemExit), repr(r.exception)
    assert "internal error" not in r.output and "Traceback" not in r.output


@pytest.fixture(scope="module")
def tasks_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tasks")
    shutil.copytree(FIXTURES, folder / "specs")
    out = folder / "tasks.jsonl"
    r = _invoke("tasks", str(folder / "specs" / "helpdesk.env"), "-n", "4", "--seed", "3", "-o", str(out))
    assert r.exit_code == 0, r.output
    return out


# ---- run identity

def test_a_folder_made_by_another_agent_is_refused_and_the_same_run_resumes(tasks_file, tmp_path):
    out = tmp_path / "ev"
    r = _invoke("eval", str(tasks_file), "-o", str(out), "--agent", "flaky:0.5", "--trials", "2")
    assert r.exit_code == 0, r.output
    run = json.loads((out / "run.json").read_text())
    assert run["agent"] == "flaky:0.5" and run["user"] == "scripted" and len(run["tasks_sha256"]) == 64
    assert {"temperature", "max_tokens", "max_turns", "envdsl_version"} <= set(run)
    flaky_results = (out / "results.jsonl").read_text()
    rows = [json.loads(x) for x in flaky_results.splitlines()]
    report = json.loads((out / "eval.json").read_text())
    assert len(rows) == 4 and all(r["trials"] == 2 and len(r["outcomes"]) == 2 for r in rows)
    assert all(r["successes"] == sum(o["success"] for o in r["outcomes"]) for r in rows)
    assert sum(r["successes"] for r in rows) / 8 == report["passk"]["all"]["pass^1"]
    assert report["agent"] == "flaky:0.5" and "bootstrap" in report["interval"]

    r = _invoke("eval", str(tasks_file), "-o", str(out), "--agent", "oracle", "--trials", "2")
    _clean_exit(r, codes=(1,))
    assert "holds another run" in r.output and "agent: this run 'oracle', the folder's 'flaky:0.5'" in r.output
    assert "start fresh with another -o folder" in r.output
    assert (out / "results.jsonl").read_text() == flaky_results  # nothing of the refused run was written

    r = _invoke("eval", str(tasks_file), "-o", str(out), "--agent", "flaky:0.5", "--trials", "2", "--max-turns", "9")
    _clean_exit(r, codes=(1,))
    assert "max_turns: this run 9" in r.output

    r = _invoke("rollout", str(tasks_file), "-o", str(out), "--agent", "flaky:0.5", "--trials", "2")
    assert r.exit_code == 0, r.output
    summary = json.loads((out / "summary.json").read_text())
    assert summary["resumed_skipped"] == 8 and summary["played"] == 0


def test_a_folder_that_is_not_a_run_is_not_written_into(tasks_file, tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    r = _invoke("rollout", str(tasks_file), "-o", str(tmp_path))
    _clean_exit(r, codes=(1,))
    assert "not empty and was not made by" in r.output
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.txt"]


def test_other_tasks_are_another_run(tasks_file, tmp_path):
    out = tmp_path / "run"
    assert _invoke("rollout", str(tasks_file), "-o", str(out)).exit_code == 0
    other = tasks_file.parent / "other.jsonl"  # beside the specs it names
    other.write_text("".join(line + "\n" for line in tasks_file.read_text().splitlines()[:2]))
    r = _invoke("rollout", str(other), "-o", str(out))
    _clean_exit(r, codes=(1,))
    assert "tasks_sha256" in r.output


# ---- LLM backends: failures stop the run, flags reach agent and user

class FakeServer:
    """An OpenAI-compatible server: `status` for every request (200 = the agent says goodbye, the user
    stops), every request body recorded."""

    def __init__(self, status: int = 200):
        self.status = status
        self.requests: list[dict] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                server.requests.append(body)
                if server.status == 200:
                    text = "Done. Is there anything else?" if body.get("tools") else "Thanks! ###STOP###"
                    data = json.dumps({"choices": [{"message": {"role": "assistant", "content": text}}],
                                       "usage": {"prompt_tokens": 3, "completion_tokens": 2}}).encode()
                else:
                    data = json.dumps({"error": {"message": "nope"}}).encode()
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def fake_server():
    servers = []

    def make(status=200):
        servers.append(FakeServer(status))
        return servers[-1]

    yield make
    for s in servers:
        s.close()


@pytest.mark.parametrize("status,words", [(401, "authentication failed"), (404, "no such endpoint or model"),
                                          (400, "HTTP 400"), (500, "gave up after 2 attempts")])
def test_backend_failures_stop_the_run_instead_of_scoring_it(tasks_file, tmp_path, fake_server, status, words):
    server = fake_server(status)
    out = tmp_path / "run"
    r = _invoke("eval", str(tasks_file), "-o", str(out), "--agent", "openai:m", "--base-url", server.url,
                "--trials", "1", "--max-retries", "1", "--concurrency", "1")
    _clean_exit(r, codes=(1,))
    assert "the LLM backend failed" in r.output and words in r.output
    assert "pass^1" not in r.output
    assert list((out / "runs").glob("*.json")) == []  # no conversation scored as the agent's failure
    assert len(server.requests) == (2 if status == 500 else 1)  # stopped at the first, retried only a 500


def test_an_unreachable_server_stops_the_run(tasks_file, tmp_path):
    r = _invoke("rollout", str(tasks_file), "-o", str(tmp_path / "run"), "--agent", "openai:m",
                "--base-url", "http://127.0.0.1:9/v1", "--max-retries", "0", "--timeout", "1")
    _clean_exit(r, codes=(1,))
    assert "cannot reach http://127.0.0.1:9/v1/chat/completions" in r.output


def test_no_request_is_sent_without_an_endpoint(tasks_file, tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    for role in ("--agent", "--user"):
        r = _invoke("rollout", str(tasks_file), "-o", str(tmp_path / "run"), role, "openai:gpt-4o-mini")
        _clean_exit(r, codes=(2,))
        assert "no LLM endpoint configured" in r.output and "--base-url openai" in r.output
    assert not (tmp_path / "run").exists()


def test_sampling_flags_reach_the_agent_and_the_user(tasks_file, tmp_path, fake_server):
    server = fake_server()
    r = _invoke("rollout", str(tasks_file), "-o", str(tmp_path / "run"), "--agent", "openai:agent-m",
                "--user", "openai:user-m", "--base-url", server.url, "--temperature", "0.3", "--max-tokens", "77",
                "--concurrency", "1")
    assert r.exit_code == 0, r.output
    agent = [b for b in server.requests if b["model"] == "agent-m"]
    user = [b for b in server.requests if b["model"] == "user-m"]
    assert len(agent) == 4 and len(user) == 4 and all(b.get("tools") for b in agent)
    assert all(b["temperature"] == 0.3 and b["max_tokens"] == 77 for b in agent + user)
    run = json.loads((tmp_path / "run" / "run.json").read_text())
    assert (run["temperature"], run["max_tokens"], run["base_url"]) == (0.3, 77, server.url)


@pytest.mark.parametrize("args,words", [
    (["--agent", "gpt4"], "expected oracle | flaky:P"), (["--agent", "flaky:2"], "probability"),
    (["--user", "llm"], "expected scripted"), (["--agent", "hf:/no/such/folder"], "no checkpoint folder"),
    (["--trials", "0"], "--trials must be at least 1"), (["--timeout", "0"], "--timeout must be positive"),
    (["--max-tokens", "0"], "--max-tokens must be at least 1"),
])
def test_agent_and_user_specs_are_checked_up_front(tasks_file, tmp_path, args, words):
    r = _invoke("rollout", str(tasks_file), "-o", str(tmp_path / "run"), *args)
    _clean_exit(r, codes=(2,))
    assert words in r.output and not (tmp_path / "run").exists()


def test_tasks_llm_reports_its_fallbacks_and_stops_when_the_backend_cannot_serve(tmp_path, fake_server, monkeypatch):
    writer = CountingGoalWriter(lambda task, ir: "You want it." if task["n"] else 1 / 0)
    assert writer({"n": 1}, {}) == "You want it."
    with pytest.raises(ZeroDivisionError):
        writer({"n": 0}, {})
    assert (writer.written, writer.fallbacks) == (1, 1) and writer.first_error.startswith("ZeroDivisionError")

    server = fake_server(401)
    out = tmp_path / "t.jsonl"
    r = _invoke("tasks", str(FIXTURES / "helpdesk.env"), "-n", "3", "--llm", "openai:m", "--base-url", server.url,
                "-o", str(out))
    _clean_exit(r, codes=(1,))
    assert "backend cannot serve" in r.output and "authentication failed" in r.output and not out.exists()
    assert len(server.requests) == 1  # asked once, not once per task

    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    r = _invoke("tasks", str(FIXTURES / "helpdesk.env"), "-n", "3", "--llm", "openai:m", "-o", str(out))
    _clean_exit(r, codes=(2,))
    assert "no LLM endpoint configured" in r.output

    ok = fake_server(200)
    r = _invoke("tasks", str(FIXTURES / "helpdesk.env"), "-n", "3", "--llm", "openai:m", "--base-url", ok.url,
                "-o", str(out))
    assert r.exit_code == 0, r.output
    assert "goals: 3 written by openai:m, 0 fell back to templates" in r.output


# ---- portable task files

def test_a_task_file_moved_with_its_specs_works_from_anywhere(tasks_file, tmp_path, monkeypatch):
    rows = [json.loads(x) for x in tasks_file.read_text().splitlines()]
    assert {t["spec"] for t in rows} == {"specs/helpdesk.env"}  # relative to the task file's folder
    moved = tmp_path / "elsewhere"
    shutil.copytree(tasks_file.parent, moved)
    monkeypatch.chdir(tmp_path.parent)
    r = _invoke("rollout", str(moved / "tasks.jsonl"), "-o", str(tmp_path / "run"))
    assert r.exit_code == 0, r.output
    assert "4 conversation(s): 4 kept" in r.output
    # the run's own copy of the tasks points at the specs from the run folder
    copied = json.loads((tmp_path / "run" / "tasks.jsonl").read_text().splitlines()[0])
    assert copied["spec"] == "../elsewhere/specs/helpdesk.env"
    r = _invoke("eval", str(tmp_path / "run"))
    assert r.exit_code == 0, r.output


def test_a_task_file_alone_finds_its_spec_by_domain_on_the_search_path(tasks_file, tmp_path, monkeypatch):
    lonely = tmp_path / "lonely.jsonl"
    shutil.copy(tasks_file, lonely)
    r = _invoke("rollout", str(lonely), "-o", str(tmp_path / "run1"))
    _clean_exit(r, codes=(1,))
    assert "no spec for domain 'helpdesk'" in r.output and "ENVDSL_SPEC_PATH" in r.output
    monkeypatch.setenv("ENVDSL_SPEC_PATH", str(FIXTURES))
    r = _invoke("rollout", str(lonely), "-o", str(tmp_path / "run2"))
    assert r.exit_code == 0, r.output


# ---- user errors are user errors

def _bad_task_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "broken.jsonl").write_text('{"task_id": "x",\n')
    (tmp_path / "list.jsonl").write_text("[1, 2]\n")
    (tmp_path / "keys.jsonl").write_text('{"task_id": "x"}\n')
    (tmp_path / "latin1.jsonl").write_bytes(b'{"task_id": "caf\xe9"}\n')
    (tmp_path / "folder").mkdir()
    return {"missing.jsonl": "no such tasks file", "empty.jsonl": "holds no tasks", "broken.jsonl": "not JSON",
            "list.jsonl": "expected a JSON object", "keys.jsonl": "missing domain, goal", "latin1.jsonl": "UTF-8",
            "folder": "is a folder"}


def test_bad_task_files_are_user_errors(tmp_path):
    for name, words in _bad_task_files(tmp_path).items():
        for cmd in (["rollout", str(tmp_path / name), "-o", str(tmp_path / "out")],
                    ["eval", str(tmp_path / name), "-o", str(tmp_path / "out")]):
            r = _invoke(*cmd)
            _clean_exit(r, codes=(1,) if name != "folder" or cmd[0] == "rollout" else (1, 2))
            assert words in r.output or "not a rollout folder" in r.output, (cmd, r.output)


def test_folders_without_the_expected_files_are_user_errors(tmp_path):
    (tmp_path / "nothing").mkdir()
    r = _invoke("eval", str(tmp_path / "nothing"))
    _clean_exit(r)
    assert "not a rollout folder" in r.output
    r = _invoke("replay", str(FIXTURES / "helpdesk.env"), "--tasks", str(tmp_path / "nothing"))
    _clean_exit(r)
    assert "tasks.json" in r.output
    r = _invoke("call", str(tmp_path / "nothing"), "get_ticket")
    _clean_exit(r)
    assert "not a .env spec or a generated package" in r.output
    for cmd in ("compile", "check", "tasks", "test"):
        r = _invoke(cmd, str(tmp_path / "nothing"), *(["-o", str(tmp_path / "gen")] if cmd == "compile" else []))
        _clean_exit(r)
        assert "no .env specs" in r.output, (cmd, r.output)


def test_eval_does_not_hide_tasks_it_could_not_play(tasks_file, tmp_path):
    rows = [json.loads(x) for x in tasks_file.read_text().splitlines()]
    rows[0]["initial_state_hash"] = "0" * 64  # as if the spec changed since the task was sampled
    stale = tasks_file.parent / "stale.jsonl"
    stale.write_text("".join(json.dumps(r) + "\n" for r in rows))
    r = _invoke("eval", str(stale), "-o", str(tmp_path / "ev"), "--trials", "1")
    _clean_exit(r, codes=(1,))
    assert f"cannot play {rows[0]['task_id']}.t0" in r.output and "not in the figures above" in r.output


def test_a_checkpoint_that_does_not_load_stops_the_run(tasks_file, tmp_path):
    (tmp_path / "ckpt").mkdir()  # a folder, but no model in it
    r = _invoke("rollout", str(tasks_file), "-o", str(tmp_path / "run"), "--agent", f"hf:{tmp_path / 'ckpt'}")
    _clean_exit(r, codes=(1,))
    assert "the LLM backend failed" in r.output and "cannot play" not in r.output
    assert list((tmp_path / "run" / "runs").glob("*.json")) == []


def test_an_llm_user_whose_backend_fails_stops_the_run_too(tasks_file, tmp_path, fake_server):
    server = fake_server(503)
    r = _invoke("rollout", str(tasks_file), "-o", str(tmp_path / "run"), "--user", "openai:u",
                "--base-url", server.url, "--max-retries", "2", "--concurrency", "1")
    _clean_exit(r, codes=(1,))
    assert "gave up after 3 attempts; last: HTTP 503" in r.output
    assert len(server.requests) == 3 and all(b["model"] == "u" and "tools" not in b for b in server.requests)
    assert list((tmp_path / "run" / "runs").glob("*.json")) == []
