from train_testkit import TINY_CONFIG

from train.config import load_config


def test_exponent_numbers_are_floats(tmp_path):
    # PyYAML reads `2e-5` as a string; a learning rate must reach the optimizer as a float.
    config = load_config(TINY_CONFIG, ["training.learning_rate=2e-5", "phase2.weight_decay=1E-2"])
    assert config.training["learning_rate"] == 2e-5
    assert config.phase_training_args(2)["weight_decay"] == 0.01


def test_phase_overrides_layer_over_training():
    config = load_config(TINY_CONFIG, ["training.num_train_epochs=3", "phase2.num_train_epochs=7"])
    assert config.phase_training_args(1)["num_train_epochs"] == 3
    assert config.phase_training_args(2)["num_train_epochs"] == 7


def test_shipped_configs_are_valid():
    from train.sft_args import check_training_keys

    run_configs = [p for p in sorted(TINY_CONFIG.parent.glob("*.yaml")) if not p.name.startswith("accelerate_")]
    assert {p.name for p in run_configs} >= {"tiny_cpu.yaml", "qwen3_4b.yaml", "qwen3_8b.yaml", "qwen3_30b_a3b.yaml"}
    for path in run_configs:
        config = load_config(path)
        check_training_keys(config)  # every trainer argument is a real SFTConfig field
        assert config.data.vertical_domains, path


def test_launcher_configs_parse_and_point_at_shipped_files():
    import json

    import yaml

    fsdp = yaml.safe_load((TINY_CONFIG.parent / "accelerate_fsdp.yaml").read_text())
    assert fsdp["distributed_type"] == "FSDP"
    assert fsdp["fsdp_config"]["fsdp_state_dict_type"] == "FULL_STATE_DICT"  # phase 2 reloads phase 1 from disk
    deepspeed = yaml.safe_load((TINY_CONFIG.parent / "accelerate_deepspeed_zero3.yaml").read_text())
    ds_file = TINY_CONFIG.parents[2] / deepspeed["deepspeed_config"]["deepspeed_config_file"]
    zero3 = json.loads(ds_file.read_text())
    assert zero3["zero_optimization"]["stage"] == 3
    assert zero3["zero_optimization"]["stage3_gather_16bit_weights_on_model_save"] is True
