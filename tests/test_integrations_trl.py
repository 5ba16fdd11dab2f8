"""envdsl.integrations.trl without a trainer: tool schemas as TRL builds them, rewards of call sequences."""

import json
from pathlib import Path

import pytest

from envdsl.integrations import trl as envdsl_trl
from envdsl.tasks.sampler import SampleConfig, TaskSampler

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def setup():
    envs = envdsl_trl.load_environment_classes([REPO / "generated" / "bank", REPO / "generated" / "library"])
    tasks = []
    for domain, env_cls in envs.items():
        tasks += TaskSampler(env_cls(), SampleConfig(), seed=5, spec=domain).sample(6)
    return envs, tasks


def _schema_view(schema):
    """What a Python type hint can carry: type (null folded into nullable), enum, items, description."""
    if "anyOf" in schema:
        parts = [s for s in schema["anyOf"] if s.get("type") != "null"]
        out = _schema_view(parts[0]) if len(parts) == 1 else {"anyOf": [_schema_view(p) for p in parts]}
        return {**out, "nullable": True, **({"description": schema["description"]} if "description" in schema else {})}
    out = {}
    t = schema.get("type")
    if isinstance(t, list) and "enum" in schema:
        out["type"] = t  # a Literal with None in it: transformers writes the type list and the enum as they are
    elif isinstance(t, list):
        rest = [x for x in t if x != "null"]
        out["type"] = rest[0] if len(rest) == 1 else rest
        if "null" in t:
            out["nullable"] = True
    elif t is not None:
        out["type"] = t
    for key in ("enum", "description"):
        if key in schema:
            out[key] = schema[key]
    if isinstance(schema.get("items"), dict):
        out["items"] = _schema_view(schema["items"])
    if isinstance(schema.get("additionalProperties"), dict) and "properties" not in schema:
        out["additionalProperties"] = _schema_view(schema["additionalProperties"])
    return out


@pytest.mark.parametrize("domain", ["bank", "library", "tau2_airline", "tau2_retail", "smarthome"])
def test_tool_methods_give_transformers_the_domains_own_schema(domain):
    from transformers.utils import get_json_schema

    env_cls = envdsl_trl.load_environment_classes([REPO / "generated" / domain])
    env_cls = next(iter(env_cls.values()))
    cls = envdsl_trl.environment_class(env_cls, [])
    tools = [name for name in vars(cls) if not name.startswith("_")]
    assert tools == [s["function"]["name"] for s in env_cls.SCHEMAS]  # declaration order, every agent tool
    for spec_schema in env_cls.SCHEMAS:
        want = spec_schema["function"]
        got = get_json_schema(getattr(cls(), want["name"]))["function"]
        assert got["name"] == want["name"]
        assert got["description"] == " ".join(want["description"].split())
        assert sorted(got["parameters"].get("required", [])) == sorted(want["parameters"].get("required", []))
        assert set(got["parameters"]["properties"]) == set(want["parameters"]["properties"])
        for name, prop in want["parameters"]["properties"].items():
            expected = _schema_view(prop)
            expected["description"] = " ".join(expected.get("description", "").split()) or name.replace("_", " ")
            assert got["parameters"]["properties"][name] == expected, (want["name"], name)


def test_correct_and_incorrect_call_sequences_get_their_rewards(setup):
    envs, tasks = setup
    factories = envdsl_trl.environment_factories(envs, tasks)
    writes = [t for t in tasks if not t["read_only"] and t["gold_state_hash"] != t["initial_state_hash"]]
    assert {t["domain"] for t in writes} == {"bank", "library"}
    for task in writes:
        env = factories[task["domain"]]()
        opening = env.reset(task_id=task["task_id"], prompt=[])
        said = [f["value"] if isinstance(f["value"], str) else json.dumps(f["value"]) for f in task["user_facts"]]
        assert opening.startswith("Hi! ") and all(value in opening for value in said)
        for call in task["gold_calls"]:
            getattr(env, call["name"])(**json.loads(call["arguments"]))
        assert env.get_reward() == 1.0, task["task_id"]
        # the same task again on the same instance, stopping before the last write: not solved
        env.reset(task_id=task["task_id"])
        last_write = max(i for i, c in enumerate(task["gold_calls"])
                         if envs[task["domain"]].TOOLS[c["name"]].effect == "write")
        for call in task["gold_calls"][:last_write]:
            getattr(env, call["name"])(**json.loads(call["arguments"]))
        assert env.get_reward() == 0.0
        # doing nothing scores 0; a wrong call is answered with envdsl's error text and changes nothing
        env.reset(task_id=task["task_id"])
        first = task["gold_calls"][0]["name"]
        assert getattr(env, first)(no_such_argument=1).startswith("Error: invalid arguments")
        assert env.get_reward() == 0.0


def test_read_only_task_needs_its_gold_calls(setup):
    envs, tasks = setup
    # a read-only task made from a sampled task's first successful read (its gold state: the initial state)
    base, read = next((t, c) for t in tasks for c in t["gold_calls"]
                      if c["ok"] and envs[t["domain"]].TOOLS[c["name"]].effect == "read")
    task = {**base, "task_id": "ro", "read_only": True, "gold_state_hash": base["initial_state_hash"],
            "gold_calls": [read]}
    env = envdsl_trl.environment_class(envs[base["domain"]], [task])()
    env.reset(task_id="ro")
    assert env.get_reward() == 0.0  # the state is right, but the agent looked nothing up
    getattr(env, read["name"])(**json.loads(read["arguments"]))
    assert env.get_reward() == 1.0


def test_dataset_rows_route_to_their_environment(setup):
    envs, tasks = setup
    data = envdsl_trl.task_dataset(tasks, envs)
    assert data.column_names == ["prompt", "task_id", "environment"]
    assert data["environment"] == [t["domain"] for t in tasks]
    assert data[0]["prompt"][0]["role"] == "system" and data[0]["prompt"][-1] == {"role": "user", "content": ""}
    with pytest.raises(ValueError, match="not among the environments"):
        envdsl_trl.task_dataset(tasks, {"bank": envs["bank"]})
    env = envdsl_trl.environment_factories(envs, tasks)["bank"]()
    with pytest.raises(ValueError, match="no known task_id"):
        env.reset(task_id="nope")


def test_stale_task_is_refused(setup):
    envs, tasks = setup
    task = {**next(t for t in tasks if t["domain"] == "bank"), "initial_state_hash": "0" * 64}
    env = envdsl_trl.environment_class(envs["bank"], [task])()
    with pytest.raises(envdsl_trl.StaleTask, match="sample the tasks again"):
        env.reset(task_id=task["task_id"])
