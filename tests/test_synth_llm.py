"""The LLM writer against a local OpenAI-compatible server with scripted faults: the same client code
that talks to vLLM or OpenAI. Faults: 429, 500, a timeout, a malformed body, a truncated reply, and a
spec with a compile error that is repaired after the diagnostics are sent back."""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from envdsl.synth.graph import GraphConfig
from envdsl.synth.pipeline import SynthConfig, run_synth
from envdsl.synth.sources import Tool
from envdsl.synth.writer_llm import ReplyError, build_messages, make_client, parse_reply, sample_records, shrink_schema

GOOD_SPEC = '''domain notes "Notes"
seed "notes.seed.json"
record Note { note_id: str  text: str }
state { notes: collection<Note> by note_id }
read tool get_note(note_id: str "Note id") -> Note "Get a note." {
  return notes[note_id] ?? fail f"No note {note_id}"
}
write tool add_note(text: str "The text") -> Note "Add a note." {
  let id = new_id(notes, "n")
  insert notes[id] = Note(note_id=id, text=text)
  return notes[id]
}
'''
BROKEN_SPEC = GOOD_SPEC.replace('let id = new_id(notes, "n")', 'let id: int = new_id(notes, "n")')
SEED = '{"notes": {"n0001": {"note_id": "n0001", "text": "hello"}}}'


def reply(spec: str, seed: str = SEED) -> str:
    return f"Here you go.\n```env\n{spec}```\n```json\n{seed}\n```\n"


class FakeServer:
    """POST /v1/chat/completions answers from a script; every request body is recorded."""

    def __init__(self, steps: list[tuple[str, Any]]):
        self.steps = list(steps)
        self.requests: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with outer.lock:
                    outer.requests.append(body)
                    kind, arg = outer.steps.pop(0) if outer.steps else ("status", 500)
                try:
                    if kind == "sleep":  # longer than the client's timeout
                        time.sleep(arg)
                        self._send(500, "too late")
                    elif kind == "status":
                        self._send(arg, json.dumps({"error": {"message": f"status {arg}"}}))
                    elif kind == "raw":
                        self._send(200, arg)
                    else:  # "reply": a whole completion; "cut": one stopped at max_tokens
                        finish = "length" if kind == "cut" else "stop"
                        self._send(200, json.dumps({"choices": [{"message": {"role": "assistant", "content": arg},
                                                                 "finish_reason": finish}],
                                                    "usage": {"prompt_tokens": 1000, "completion_tokens": 100}}))
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def _send(self, status: int, text: str) -> None:
                data = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> "FakeServer":
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


def notes_input(tmp_path: Path) -> Path:
    tools = [{"id": "n/notes/get_note", "source": "n", "api": "notes", "name": "get_note", "description": "Get a note",
              "parameters": {"type": "object", "properties": {"note_id": {"type": "string"}}, "required": ["note_id"]}},
             {"id": "n/notes/add_note", "source": "n", "api": "notes", "name": "add_note", "description": "Add a note",
              "parameters": {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}}]
    path = tmp_path / "notes.jsonl"
    path.write_text("".join(json.dumps(t) + "\n" for t in tools))
    return path


def llm_config(tmp_path: Path, url: str, retries: int = 5) -> SynthConfig:
    return SynthConfig(inputs=[str(notes_input(tmp_path))], out=str(tmp_path / "out"), writer="openai:fake-model",
                       workers=2, base_url=url, api_key="test-key", rounds=3, llm_timeout=0.5, llm_retries=retries,
                       llm_backoff=0.01, requests_per_minute=6000, gate_mode="proptest",
                       graph=GraphConfig(min_size=2, max_size=4, embedder="tfidf"))


def only(out: Path, status: str) -> Path:
    (folder,) = (out / status).iterdir()
    return folder


def test_repair_loop_through_faults(tmp_path: Path) -> None:
    steps = [("status", 429), ("status", 500), ("sleep", 1.5), ("raw", '{"choices": [{"mess'),  # client retries
             ("reply", reply(GOOD_SPEC).split("```json")[0] + "```json\n{\"notes\": {"),  # cut off: round 1
             ("reply", reply(BROKEN_SPEC)),  # compile error: round 2
             ("reply", reply(GOOD_SPEC))]  # repaired: round 3
    with FakeServer(steps) as server:
        summary = run_synth(llm_config(tmp_path, server.url), progress=False, log=lambda m: None)
    assert (summary["accepted"], summary["rejected"]) == (1, 0)
    assert summary["llm_calls"] == 7 and summary["llm_calls_per_accepted"] == 7
    assert summary["llm_tokens"] == 3 * 1100  # usage of the three completions that arrived whole
    record = json.loads((tmp_path / "out" / "journal.jsonl").read_text())
    assert record["rounds"] == 3 and record["status"] == "accepted"
    reqs = server.requests
    assert all(r["model"] == "fake-model" and r["temperature"] == 0 for r in reqs)
    # round 2 was asked after the truncated reply, round 3 after the diagnostics
    assert "no ```json block" in reqs[5]["messages"][-1]["content"]  # the cut-off reply
    feedback = reqs[6]["messages"][-1]["content"]
    assert "The compiler reported" in feedback and "error E03" in feedback and "let id: int" in feedback
    assert reqs[6]["messages"][-2] == {"role": "assistant", "content": reply(BROKEN_SPEC)}
    # the prompt has the language reference, an example spec and the domain's tools
    system, user = reqs[0]["messages"][0]["content"], reqs[0]["messages"][1]["content"]
    assert "envdsl language reference" in system and "```env" in system
    assert "get_note" in user and "add_note" in user
    folder = only(tmp_path / "out", "accepted")
    spec = (folder / f"{folder.name}.env").read_text()
    assert spec.startswith(f'domain {folder.name} "Notes"\nseed "{folder.name}.seed.json"')  # our names
    assert sorted(p.name for p in folder.glob("reply_*.md")) == ["reply_0.md", "reply_1.md", "reply_2.md"]


def test_rejections_keep_their_reasons(tmp_path: Path) -> None:
    with FakeServer([("status", 503)] * 3) as server:
        summary = run_synth(llm_config(tmp_path, server.url, retries=2), progress=False, log=lambda m: None)
    assert summary["rejected_by_reason"] == {"llm_error": 1} and len(server.requests) == 3
    verdict = json.loads((only(tmp_path / "out", "rejected") / "verdict.json").read_text())
    assert "gave up after 3 attempts" in verdict["details"][0] and "HTTP 503" in verdict["details"][0]


def test_a_spec_missing_tools_is_sent_back_then_rejected(tmp_path: Path) -> None:
    partial = GOOD_SPEC.split("write tool")[0]
    with FakeServer([("reply", reply(partial))] * 4) as server:
        summary = run_synth(llm_config(tmp_path, server.url), progress=False, log=lambda m: None)
    assert summary["rejected_by_reason"] == {"missing_tools": 1}
    assert len(server.requests) == 4  # the draft and three repairs
    assert "add_note" in server.requests[1]["messages"][-1]["content"]


def test_parse_reply_forces_our_names_and_rejects_broken_replies() -> None:
    spec, seed = parse_reply(reply(GOOD_SPEC), "d00007_notes")
    assert spec.startswith('domain d00007_notes "Notes"\nseed "d00007_notes.seed.json"') and json.loads(seed)
    with pytest.raises(ReplyError, match="no ```env block"):
        parse_reply("I cannot help with that.", "x")
    with pytest.raises(ReplyError, match="not valid JSON"):
        parse_reply(reply(GOOD_SPEC, seed='{"notes": '), "x")
    tools = [Tool(id="a", source="s", api="a", name="get_note")]
    messages = build_messages("d1", tools)
    assert [m["role"] for m in messages] == ["system", "user"] and "d1.seed.json" in messages[1]["content"]



def test_a_reply_cut_at_max_tokens_is_told_to_shorten(tmp_path: Path) -> None:
    cut = reply(GOOD_SPEC).split("```json")[0] + "```json\n{\"notes\": {"
    with FakeServer([("cut", cut), ("reply", reply(GOOD_SPEC))]) as server:
        cfg = llm_config(tmp_path, server.url)
        cfg.max_tokens = 1234
        summary = run_synth(cfg, progress=False, log=lambda m: None)
    assert summary["accepted"] == 1 and len(server.requests) == 2
    assert all(r["max_tokens"] == 1234 for r in server.requests)  # --max-tokens reaches the request
    feedback = server.requests[1]["messages"][-1]["content"]
    assert feedback.startswith("Your reply was cut off: shorten it.") and "1234 tokens" in feedback


def test_a_cut_reply_that_never_fits_is_rejected_as_cut_off(tmp_path: Path) -> None:
    from envdsl.synth.command import render_summary

    with FakeServer([("cut", "```env\ndomain x")] * 4) as server:
        summary = run_synth(llm_config(tmp_path, server.url), progress=False, log=lambda m: None)
    assert summary["rejected_by_reason"] == {"cut_off": 1} and len(server.requests) == 4
    assert summary["llm_calls_per_accepted"] is None and summary["llm_tokens_per_accepted"] is None
    assert "LLM calls 4 (n/a per accepted domain), tokens 4400 (n/a per accepted domain)" in render_summary(summary)
    # an ordinary malformed reply (finish_reason "stop") gets the format reminder, not "shorten it"
    with FakeServer([("reply", "no blocks here")] * 4) as server:
        (tmp_path / "b").mkdir()
        summary = run_synth(llm_config(tmp_path / "b", server.url), progress=False, log=lambda m: None)
    assert summary["rejected_by_reason"] == {"malformed_output": 1}
    assert "Your reply could not be used" in server.requests[1]["messages"][-1]["content"]


def test_cli_flags_reach_the_client(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    import envdsl.synth.pipeline as P
    from envdsl.cli import main

    seen: list[SynthConfig] = []

    def fake_run(cfg: SynthConfig, **kw: Any) -> dict[str, Any]:
        seen.append(cfg)
        raise SystemExit(0)

    monkeypatch.setattr(P, "run_synth", fake_run)
    base = ["synth", "in.jsonl", "-o", str(tmp_path / "o"), "--writer", "openai:m", "--embedder", "tfidf"]
    assert CliRunner().invoke(main, base + ["--llm-timeout", "900", "--max-tokens", "16000"]).exit_code == 0
    assert CliRunner().invoke(main, base).exit_code == 0
    (given, default) = seen
    client = make_client(given.settings())
    assert (client.timeout, given.settings()["max_tokens"]) == (900.0, 16000)
    assert make_client(default.settings()).timeout >= 600  # a whole spec is a long reply
    bad = CliRunner().invoke(main, base + ["--max-tokens", "0"])
    assert bad.exit_code == 2 and "--max-tokens" in bad.output


def test_the_prompt_lists_return_schemas_naming_rule_and_gate_and_drops_the_policy_file() -> None:
    returns = {"type": "object", "properties": {"note_id": {"type": "string"}, "text": {"type": "string"}}}
    tools = [Tool(id="a", source="s", api="notes", name="get-note", returns=returns,
                  parameters={"type": "object", "properties": {"$filter": {"type": "string"}, "noteId": {}},
                              "required": ["noteId"]})]
    system, user = (m["content"] for m in build_messages("d1", tools))
    assert f"returns: {json.dumps(returns, sort_keys=True)}" in user
    assert 'spec name: "get-note" -> get_note, "$filter" -> filter' in user  # only the names the rule changes
    assert "kept exactly as the API spells it" in user and "`$filter` -> `filter`" in user
    assert "parameters matter" in user and "names agree with effects" in user and "natural keys" in user
    assert "realistic data" in user
    examples = system.split("Example `", 1)[1]
    assert 'policy file "' not in examples  # the example's policy file is not given: its line goes
    assert '"books":{' in system  # the example seed is compact: no indentation inside a collection
    assert "\n  \"" not in system.split("with `library.seed.json`")[1].split("```")[1]


def test_long_schemas_shrink_by_structure_keeping_every_parameter_and_required() -> None:
    long = "a very long description of this parameter that goes on and on " * 8
    props = {f"param_{i}": {"type": "object", "description": long, "title": "T", "example": {"x": 1},
                            "properties": {"inner": {"type": "object", "description": long, "properties": {
                                "deep": {"type": "string", "description": long}}}}}
             for i in range(20)}
    props["mode"] = {"type": "string", "enum": [f"m{i}" for i in range(40)]}
    schema = {"type": "object", "properties": props, "required": ["param_3", "mode"]}
    text = shrink_schema(schema, 2000)
    shrunk = json.loads(text)  # whole JSON, never cut in the middle
    assert len(text) <= 2000 and shrunk["required"] == ["param_3", "mode"]
    assert sorted(shrunk["properties"]) == sorted(props) and shrunk["properties"]["mode"]["type"] == "string"
    assert len(json.dumps(schema)) > 20_000
    small = {"type": "object", "properties": {"q": {"type": "string", "title": "Q"}}}
    assert shrink_schema(small, 2000) == json.dumps(small, sort_keys=True)  # short schemas go as they are


def test_one_repair_round_reports_seed_errors_with_type_errors(tmp_path: Path) -> None:
    bad_seed = '{"notes": {"n0001": {"note_id": "n0001", "text": 7}}}'
    with FakeServer([("reply", reply(BROKEN_SPEC, seed=bad_seed)), ("reply", reply(GOOD_SPEC))]) as server:
        summary = run_synth(llm_config(tmp_path, server.url), progress=False, log=lambda m: None)
    assert summary["accepted"] == 1
    feedback = server.requests[1]["messages"][-1]["content"]
    assert "error E0301" in feedback and "let id: int" in feedback  # the type error in a tool body
    assert "error E0503" in feedback and "notes['n0001'].text" in feedback  # and the seed's, in the same round
    folder = only(tmp_path / "out", "accepted").name
    assert f"\n{folder}.env:" in feedback and f"\n{folder}.seed.json:1:" in feedback  # no work-folder paths
    assert str(tmp_path) not in feedback


def test_example_seeds_are_samples_that_keep_their_references() -> None:
    seed = {"users": {f"u{i}": {"user_id": f"u{i}", "name": f"N{i}"} for i in range(6)},
            "orders": {f"o{i}": {"order_id": f"o{i}", "user_id": f"u{5 - i}", "items": [f"o{i + 1}"]}
                       for i in range(5)},
            "today": "2024-01-01"}
    small = sample_records(seed, 2)
    assert small["today"] == "2024-01-01" and list(small["users"])[:2] == ["u0", "u1"]
    # o0 and o1 are kept; o1 names o2, o2 names o3...: followed to the end; each order's user is kept
    assert sorted(small["orders"]) == ["o0", "o1", "o2", "o3", "o4"]
    assert sorted(small["users"]) == ["u0", "u1", "u2", "u3", "u4", "u5"]
    flat = {"users": seed["users"]}
    assert list(sample_records(flat, 2)["users"]) == ["u0", "u1"]
    system = build_messages("d1", [Tool(id="a", source="s", api="a", name="get_note")])[0]["content"]
    assert "with `library.seed.json` (a sample: 3 records per collection" in system
    library = json.loads((Path(__file__).parents[1] / "specs/library/library.seed.json").read_text())
    shown = json.loads(system.split("with `library.seed.json`")[1].split("```json\n")[1].split("```")[0])
    assert 0 < len(shown["books"]) < len(library["books"])
    assert all(loan["book_id"] in shown["books"] for loan in shown["loans"].values())  # references resolve


def test_a_dropped_source_parameter_is_fed_back_then_rejected(tmp_path: Path) -> None:
    """The gate checks the LLM's spec against its source tools (F0109): a parameter the spec drops is
    reported in the repair message, and a spec that never restores it is rejected."""
    dropped = GOOD_SPEC.replace('write tool add_note(text: str "The text") -> Note', 'write tool add_note() -> Note') \
        .replace("Note(note_id=id, text=text)", 'Note(note_id=id, text="a fresh note")')
    with FakeServer([("reply", reply(dropped))] * 4) as server:
        summary = run_synth(llm_config(tmp_path, server.url), progress=False, log=lambda m: None)
    assert summary["rejected"] == 1 and summary["accepted"] == 0
    assert len(server.requests) == 4  # the draft and three repairs
    feedback = server.requests[1]["messages"][-1]["content"]
    assert "F0109" in feedback and "'text'" in feedback
    verdict = json.loads((only(tmp_path / "out", "rejected") / "verdict.json").read_text())
    assert any("F0109" in d for d in verdict["details"])


def test_a_spec_keeping_every_source_parameter_passes_the_source_check(tmp_path: Path) -> None:
    with FakeServer([("reply", reply(GOOD_SPEC))]) as server:
        summary = run_synth(llm_config(tmp_path, server.url), progress=False, log=lambda m: None)
    assert (summary["accepted"], summary["rejected"]) == (1, 0) and len(server.requests) == 1
    assert "the source is covered" in server.requests[0]["messages"][1]["content"]


def test_gate_sources_follow_the_naming_rule_and_keep_fair_response_fields() -> None:
    from envdsl.synth.writer_llm import gate_sources

    returns = {"type": "object", "properties": {"noteId": {"type": "string"}, "created-at": {"type": "string"},
                                                "tags": {"type": "array", "items": {"type": "string"}},
                                                "owner": {"type": "object"}}}
    tools = [Tool(id="a", source="s", api="notes", name="get-note", returns=returns,
                  parameters={"type": "object", "properties": {"$filter": {"type": "string"}, "noteId": {},
                                                               "api_key": {"type": "string"},
                                                               "limit": {"type": "integer"}},
                              "required": ["noteId"]}),
             Tool(id="b", source="s", api="notes", name="list_notes",
                  returns={"type": "array", "items": returns}, parameters={"type": "object", "properties": {}})]
    got = gate_sources(tools)
    assert got["get_note"]["params"] == {"$filter": {"name": "filter", "type": "str"},
                                         "noteId": {"name": "noteId", "type": "str"},
                                         "limit": {"name": "limit", "type": "int"}}  # api_key: transport
    assert got["get_note"]["returns"] == ["noteId", "tags"]  # created-at is renamed; owner is not scalar
    assert got["list_notes"] == {"params": {}, "returns": []}
