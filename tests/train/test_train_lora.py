"""With LoRA, phase 2 continues the phase-1 adapters on the same frozen base."""

import pytest
import torch
from peft import get_peft_model_state_dict
from safetensors.torch import load_file
from train_testkit import tiny_config

import train.modeling
from train.phases import final_dir, run


@pytest.fixture(scope="module")
def lora_run(trajectory_dir, tmp_path_factory):
    output_dir = tmp_path_factory.mktemp("lora")
    config = tiny_config(trajectory_dir, output_dir, "lora.enabled=true", "training.num_train_epochs=2")
    adapters: list[dict[str, torch.Tensor]] = []
    real_apply_lora = train.modeling.apply_lora

    def recording_apply_lora(model, settings, adapter_dir=None):
        model = real_apply_lora(model, settings, adapter_dir)
        adapters.append({k: v.detach().clone() for k, v in get_peft_model_state_dict(model).items()})
        return model

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(train.modeling, "apply_lora", recording_apply_lora)
        result = run(config)
    return config, result, adapters


def test_phase2_adapters_start_from_phase1_adapters(lora_run):
    config, result, adapters = lora_run
    assert len(adapters) == 2
    phase1_start, phase2_start = adapters
    phase1_final = load_file(str(final_dir(config.output_dir, 1) / "adapter_model.safetensors"))
    assert set(phase1_final) == set(phase2_start)
    for name, tensor in phase1_final.items():
        torch.testing.assert_close(phase2_start[name], tensor, rtol=0, atol=0)
    assert any(not torch.equal(phase1_start[name], phase1_final[name]) for name in phase1_final)
    assert result["phases"]["2"]["init_adapter"] == str(final_dir(config.output_dir, 1))
    assert result["phases"]["2"]["lora"] is True
