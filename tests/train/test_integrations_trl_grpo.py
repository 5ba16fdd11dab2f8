"""GRPOTrainer trains on two envdsl domains through `environment_factory`, and its rewards are envdsl's.

Tiny Qwen3 built from a config with an offline BPE tokenizer (train.tiny_model), CPU, two steps.
Per domain, two tasks: a real sampled write task (a random model does not solve it: reward 0) and the
same task with its gold set to the initial state (nothing to do: reward 1). Every get_reward call is
recorded with the state hash it scored, so the test checks each reward against the envdsl state and
the trainer's logged per-environment means against those records."""

import json
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOMAINS = ["bank", "library"]


def _tasks(env_classes):
    from envdsl.tasks.sampler import SampleConfig, TaskSampler

    tasks = []
    for domain in DOMAINS:
        env = env_classes[domain]()
        real = next(t for t in TaskSampler(env, SampleConfig(), seed=3, spec=domain).sample(4)
                    if not t["read_only"] and t["gold_state_hash"] != t["initial_state_hash"])
        done = {**real, "task_id": real["task_id"] + "-done", "gold_calls": [], "gold_diff": [],
                "gold_state_hash": real["initial_state_hash"]}
        tasks += [real, done]
    return tasks


def test_grpo_trains_two_steps_on_two_domains_with_envdsl_rewards(tmp_path, monkeypatch):
    from trl import GRPOConfig, GRPOTrainer
    from trl.chat_template_utils import qwen3_template

    from envdsl.integrations import trl as envdsl_trl
    from train.tiny_model import build_model, build_tokenizer

    env_classes = envdsl_trl.load_environment_classes([REPO / "generated" / d for d in DOMAINS])
    tasks = _tasks(env_classes)
    by_id = {t["task_id"]: t for t in tasks}
    dataset = envdsl_trl.task_dataset(tasks, env_classes)
    factories = envdsl_trl.environment_factories(env_classes, tasks)

    scored = []
    original = envdsl_trl.EnvdslTrlEnvironment.get_reward

    def recording_get_reward(self):
        reward = original(self)
        task = self._episode.task
        scored.append((type(self).__name__, task["task_id"], self._episode.env.state_hash(), reward))
        return reward

    monkeypatch.setattr(envdsl_trl.EnvdslTrlEnvironment, "get_reward", recording_get_reward)

    texts = [json.dumps(s) for c in env_classes.values() for s in c.SCHEMAS] + \
        [m["content"] for p in dataset["prompt"] for m in p]
    tokenizer = build_tokenizer(texts * 2, 512)
    tokenizer.response_template = qwen3_template  # the tiny template writes tool calls as Qwen3 does
    model = build_model(tokenizer, {"max_position_embeddings": 16384}, seed=0)
    args = GRPOConfig(output_dir=str(tmp_path), max_steps=2, per_device_train_batch_size=4, num_generations=2,
                      max_completion_length=8, max_tool_calling_iterations=1, learning_rate=1e-3,
                      logging_steps=1, report_to=[], use_cpu=True, shuffle_dataset=False, save_strategy="no",
                      seed=0, disable_tqdm=True)
    trainer = GRPOTrainer(model=model, args=args, processing_class=tokenizer, train_dataset=dataset,
                          environment_factory=factories)
    trainer.train()

    assert trainer.state.global_step == 2
    # 2 steps x 2 prompts x 2 generations, each rollout scored once, on both domains
    assert len(scored) == 8
    assert {name for name, *_ in scored} == {"BankTrlEnvironment", "LibraryTrlEnvironment"}
    for _, task_id, state_hash, reward in scored:
        assert reward == (1.0 if state_hash == by_id[task_id]["gold_state_hash"] else 0.0)
    assert sorted(r for *_, r in scored) == [0.0] * 4 + [1.0] * 4  # the no-op tasks pass, the real ones do not
    logged = [h for h in trainer.state.log_history if "rewards/BankTrlEnvironment/mean" in h
              or "rewards/LibraryTrlEnvironment/mean" in h]
    assert len(logged) == 2
    for step, entry in enumerate(logged):
        rollouts = scored[4 * step: 4 * step + 4]
        assert entry["reward"] == pytest.approx(sum(r for *_, r in rollouts) / 4)


def test_tool_calls_parsed_as_trl_parses_them_drive_the_environment():
    """TRL parses a completion with the tokenizer's response template, then calls tool(**arguments) from the
    environment's methods by name: the same path here, with the gold calls written as the model would."""
    from trl.chat_template_utils import parse_response, qwen3_template

    from envdsl.integrations import trl as envdsl_trl
    from train.tiny_model import build_tokenizer

    env_classes = envdsl_trl.load_environment_classes([REPO / "generated" / d for d in DOMAINS])
    tasks = _tasks(env_classes)
    tokenizer = build_tokenizer(["hello world"] * 4, 300)
    tokenizer.response_template = qwen3_template
    for task in tasks[::2]:  # the real tasks
        env = envdsl_trl.environment_factories(env_classes, tasks)[task["domain"]]()
        env.reset(task_id=task["task_id"])
        text = "".join('<tool_call>\n{"name": "%s", "arguments": %s}\n</tool_call>' % (c["name"], c["arguments"])
                       for c in task["gold_calls"]) + "<|im_end|>"
        tools = {name: getattr(env, name) for name in vars(type(env)) if not name.startswith("_")}
        parsed = parse_response(tokenizer, tokenizer(text)["input_ids"],
                                prefix=tokenizer("<|im_start|>assistant\n")["input_ids"], tools=list(tools.values()))
        assert [c["function"]["name"] for c in parsed["tool_calls"]] == [c["name"] for c in task["gold_calls"]]
        for call in parsed["tool_calls"]:
            tools[call["function"]["name"]](**call["function"]["arguments"])
        assert env.get_reward() == 1.0
