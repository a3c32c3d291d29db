import json

import pytest
import torch
from safetensors.torch import load_file

from nanozoo.core.checkpoint import (
    FORMAT_VERSION,
    CheckpointError,
    load_trainer_state,
    load_weights,
    save_tensors,
    save_trainer_state,
    save_weights,
)
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


def checkpoint(run_dir, step=3, model_step=None, state_step=None):
    """The three files of a resumable run, as the trainer writes them (each may name its own step)."""
    model = tiny()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    model(torch.zeros(1, 4, dtype=torch.long), torch.zeros(1, 4, dtype=torch.long))[1].backward()
    opt.step()
    save_weights(model, run_dir / "model.safetensors", step=step if model_step is None else model_step)
    save_trainer_state(run_dir, step, opt, {"torch": torch.get_rng_state()}, {"tokens_seen": 12})
    if state_step is not None:  # rewrite the tensors file alone, as a crash between the writes would leave
        tensors = load_file(str(run_dir / "trainer_state.safetensors"))
        save_tensors(tensors, run_dir / "trainer_state.safetensors", {"format": "1", "step": str(state_step)})


def test_resume_reads_a_consistent_checkpoint(tmp_path):
    checkpoint(tmp_path)
    doc, optim, rng = load_trainer_state(tmp_path)
    assert doc["step"] == 3 and doc["tokens_seen"] == 12 and set(rng) == {"torch"}
    assert len(optim["state"]) == len(list(tiny().parameters())) and optim["param_groups"][0]["lr"] == 1e-3


@pytest.mark.parametrize("model_step, state_step", [(2, None), (None, 4), (-1, None)])
def test_resume_refuses_files_of_different_steps(tmp_path, model_step, state_step):
    checkpoint(tmp_path, step=3, model_step=model_step, state_step=state_step)
    with pytest.raises(CheckpointError, match=r"files are from different steps \[.*3.*\]"):
        load_trainer_state(tmp_path)


CORRUPT = {
    "truncated": lambda text: text[: len(text) // 2],
    "not an object": lambda text: "[1, 2]",
    "no format": lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "format"}),
    "no step": lambda text: json.dumps({k: v for k, v in json.loads(text).items() if k != "step"}),
    "step a string": lambda text: json.dumps({**json.loads(text), "step": "3"}),
    "no param_groups": lambda text: json.dumps(
        {k: v for k, v in json.loads(text).items() if k != "param_groups"}
    ),
}


@pytest.mark.parametrize("how", CORRUPT)
def test_resume_refuses_a_corrupt_trainer_state(tmp_path, how):
    checkpoint(tmp_path)
    path = tmp_path / "trainer_state.json"
    path.write_text(CORRUPT[how](path.read_text()))
    with pytest.raises(CheckpointError, match="trainer_state.json"):
        load_trainer_state(tmp_path)


def test_resume_refuses_truncated_trainer_tensors(tmp_path):
    checkpoint(tmp_path)
    raw = (tmp_path / "trainer_state.safetensors").read_bytes()
    (tmp_path / "trainer_state.safetensors").write_bytes(raw[: len(raw) // 2])
    with pytest.raises(CheckpointError, match="trainer_state.safetensors"):
        load_trainer_state(tmp_path)


def test_resume_refuses_a_newer_format(tmp_path):
    checkpoint(tmp_path)
    path = tmp_path / "trainer_state.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "format": FORMAT_VERSION + 1}))
    with pytest.raises(
        CheckpointError, match=f"format {FORMAT_VERSION + 1} is newer than this nanozoo reads"
    ):
        load_trainer_state(tmp_path)
    checkpoint(tmp_path)
    tensors = load_file(str(tmp_path / "model.safetensors"))
    save_tensors(tensors, tmp_path / "model.safetensors", {"format": str(FORMAT_VERSION + 1), "step": "3"})
    with pytest.raises(CheckpointError, match=f"model.safetensors: format {FORMAT_VERSION + 1} is newer"):
        load_trainer_state(tmp_path)
