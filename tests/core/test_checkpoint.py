import pytest
import torch

from nanozoo.core.checkpoint import CheckpointError, load_trainer_state, load_weights, save_weights
from nanozoo.models.gpt import GPT, GPTConfig


def tiny(**kw):
    torch.manual_seed(0)
    return GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16, **kw))


def test_round_trip_keeps_tied_weights(tmp_path):
    a, b = tiny(), GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=16))
    save_weights(a, tmp_path / "m.safetensors", step=7)
    meta = load_weights(b, tmp_path / "m.safetensors")
    assert meta["step"] == "7"
    for (k, v), (_, w) in zip(a.state_dict().items(), b.state_dict().items(), strict=True):
        assert torch.equal(v, w), k
    assert b.lm_head.weight.data_ptr() == b.transformer.wte.weight.data_ptr()  # still tied after loading
    assert [p.name for p in tmp_path.iterdir()] == ["m.safetensors"]  # no temp file left behind


def test_truncated_checkpoint_is_a_clear_error(tmp_path):
    save_weights(tiny(), tmp_path / "m.safetensors")
    raw = (tmp_path / "m.safetensors").read_bytes()
    (tmp_path / "m.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="m.safetensors"):
        load_weights(tiny(), tmp_path / "m.safetensors")


def test_foreign_checkpoint_is_a_clear_error(tmp_path):
    save_weights(tiny(), tmp_path / "m.safetensors")
    other = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16))
    with pytest.raises(CheckpointError, match="another model: missing .*transformer.h.1"):
        load_weights(other, tmp_path / "m.safetensors")
    wider = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=32))
    with pytest.raises(CheckpointError, match="does not fit this model"):
        load_weights(wider, tmp_path / "m.safetensors")
    (tmp_path / "junk.safetensors").write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="junk.safetensors"):
        load_weights(tiny(), tmp_path / "junk.safetensors")


def test_resume_refuses_a_missing_or_mixed_checkpoint(tmp_path):
    with pytest.raises(CheckpointError, match="trainer_state.json is missing"):
        load_trainer_state(tmp_path)
