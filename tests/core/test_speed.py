"""What the trainer does for speed: the measured dtype choice (kept on resume, leaving no trace), fused
AdamW, MFU's FLOP count, compile's fallback and checkpoints without `_orig_mod.`, glibc's thresholds."""

import json
import logging

import pytest
import torch
from torch import nn

from nanozoo.core import checkpoint, speed
from nanozoo.core.config import TrainConfig
from nanozoo.core.runlog import read_metrics
from nanozoo.core.trainer import Trainer, make_optimizer
from nanozoo.experiments import runner
from nanozoo.models.gpt import GPT, GPTConfig, flops_per_token

NAME = "shakespeare-char-cpu"
CPU = torch.device("cpu")


def losses(run_dir):
    return {(r["step"], k): v for r in read_metrics(run_dir) for k, v in r.items() if k.endswith("_loss")}


@pytest.mark.parametrize(
    ("fp32_s", "bf16_s", "bf16_hw", "chosen"),
    [
        (1.0, 0.5, True, torch.bfloat16),  # 2x faster: bf16
        (1.0, 0.9, True, None),  # 1.11x: within the timing noise (BF16_MARGIN), float32
        (0.01, 0.001, True, None),  # a 10 ms float32 step: too small to be worth bf16 (MIN_STEP_S)
        (1.0, 0.5, False, None),  # no native bf16: never measured, float32
    ],
)
def test_auto_dtype_on_a_cpu_keeps_the_faster_by_a_margin(monkeypatch, fp32_s, bf16_s, bf16_hw, chosen):
    monkeypatch.setattr(speed, "cpu_has_bf16", lambda: bf16_hw)
    asked = []

    def measure(dtype):
        asked.append(dtype)
        return bf16_s if dtype is torch.bfloat16 else fp32_s

    assert speed.autocast_dtype("auto", CPU, measure) is chosen
    assert asked == (
        [] if not bf16_hw else [None] if fp32_s < speed.MIN_STEP_S else [None, torch.bfloat16, None]
    )
    assert speed.autocast_dtype("float32", CPU, measure) is None  # an explicit dtype is never measured
    assert speed.autocast_dtype("bfloat16", CPU) is torch.bfloat16


def test_auto_dtype_is_saved_and_a_resume_keeps_it(tmp_path, tiny_gpt_overrides, monkeypatch):
    """The start measured bf16 faster; at resume the machine would say float32: the run stays bf16."""
    monkeypatch.setattr(speed, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(Trainer, "_step_seconds", lambda self, dtype: 0.1 if dtype else 1.0)
    over = tiny_gpt_overrides + ["train.max_iters=4", "train.eval_interval=2", "train.dtype=auto"]
    run_dir, _ = runner.train(NAME, over, runs_root=tmp_path, until=2)
    assert json.loads((run_dir / "trainer_state.json").read_text())["dtype"] == "bfloat16"
    monkeypatch.setattr(Trainer, "_step_seconds", lambda self, dtype: 1.0 if dtype else 0.1)
    seen = set()
    hook = nn.modules.module.register_module_forward_hook(
        lambda m, i, out: seen.add(out.dtype) if isinstance(m, nn.Linear) and m.training else None
    )
    try:
        runner.train(NAME, over, resume=run_dir, runs_root=tmp_path)
    finally:
        hook.remove()
    assert seen == {torch.bfloat16}


def test_measuring_the_dtype_leaves_no_trace(tmp_path, tiny_gpt_overrides, monkeypatch):
    """With dropout and auto's two trial steps really run, the losses equal a float32 run's to the bit."""
    monkeypatch.setattr(speed, "cpu_has_bf16", lambda: True)
    monkeypatch.setattr(speed, "BF16_MARGIN", float("inf"))  # measured, then float32 all the same
    monkeypatch.setattr(speed, "MIN_STEP_S", 0.0)  # a tiny model's step is measured too
    calls = []
    real = Trainer._step_seconds
    monkeypatch.setattr(Trainer, "_step_seconds", lambda self, d: calls.append(d) or real(self, d))
    over = tiny_gpt_overrides + ["train.max_iters=6", "model.dropout=0.1"]
    auto, _ = runner.train(NAME, over + ["train.dtype=auto"], runs_root=tmp_path / "a")
    assert calls == [None, torch.bfloat16, None]
    fp32, _ = runner.train(NAME, over + ["train.dtype=float32"], runs_root=tmp_path / "b")
    assert losses(auto) == losses(fp32)


def test_untouched_restores_rng_buffers_and_gradients():
    model = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4), nn.Dropout(0.5))
    before = {k: v.clone() for k, v in model.state_dict().items()}
    rng = torch.get_rng_state()
    with speed.untouched(model):
        model(torch.randn(8, 4)).sum().backward()  # moves BatchNorm's running stats, draws dropout
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert torch.equal(torch.get_rng_state(), rng)
    assert all(p.grad is None for p in model.parameters())


def test_fused_adamw_on_the_cpu_takes_adamws_steps():
    torch.manual_seed(0)
    a = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Linear(16, 1))
    b = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Linear(16, 1))
    b.load_state_dict(a.state_dict())
    cfg = TrainConfig(lr=1e-2, weight_decay=0.1)
    ours = make_optimizer(a, cfg, CPU)
    assert ours.defaults["fused"]  # fused kernels run on the CPU in this torch
    plain = torch.optim.AdamW(
        [
            {"params": [p for p in b.parameters() if p.dim() >= 2], "weight_decay": 0.1},
            {"params": [p for p in b.parameters() if p.dim() < 2], "weight_decay": 0.0},
        ],
        lr=1e-2,
        betas=(cfg.beta1, cfg.beta2),
        foreach=False,
    )
    for _ in range(5):
        x = torch.randn(32, 8)
        for m, opt in ((a, ours), (b, plain)):
            m(x).square().mean().backward()
            opt.step()
            opt.zero_grad()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-5)  # one kernel or a loop: float32 rounding


def test_flops_per_token_by_hand():
    # 6 FLOPs per parameter per token, plus attention: 12 x layers x width x context
    assert flops_per_token(1000, 2, 8, 16) == 6 * 1000 + 12 * 2 * 8 * 16
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=8))
    n = sum(p.numel() for p in model.parameters()) - 16 * 8  # nanoGPT leaves the position table out
    assert model.flops_per_token() == 6 * n + 12 * 2 * 8 * 16


def test_mfu_is_logged_for_a_model_that_counts_its_flops(tmp_path, tiny_gpt_overrides, monkeypatch):
    # a fixed peak: one measured while other processes hold the cores is low, and MFU then exceeds 1
    monkeypatch.setattr("nanozoo.core.trainer.peak_flops", lambda *a: (1e9, "fixed (test)"))
    run_dir, _ = runner.train(NAME, tiny_gpt_overrides + ["train.max_iters=4"], runs_root=tmp_path)
    rows = [r for r in read_metrics(run_dir) if "mfu" in r]
    assert len(rows) == 4  # log_interval=1: every step
    model = GPT(GPTConfig(**json.loads((run_dir / "config.json").read_text())["config"]["model"]))
    for r in rows:  # the run's own model's FLOPs per token (6N + 12 L C T) x tokens/s over the peak
        assert r["mfu"] == pytest.approx(model.flops_per_token() * r["tokens_per_s"] / 1e9, rel=0.01)
    peak, basis = speed.peak_flops("cpu", None, torch.get_num_threads())
    assert peak > 1e8 and "measured" in basis


def test_compile_falls_back_with_one_warning(tmp_path, tiny_gpt_overrides, monkeypatch, caplog):
    monkeypatch.setattr("nanozoo.core.trainer.compile_unsupported", lambda device: "no C++ compiler (test)")
    over = tiny_gpt_overrides + ["train.max_iters=2", "train.compile=true"]
    with caplog.at_level(logging.WARNING, logger="nanozoo.core.trainer"):
        run_dir, metrics = runner.train(NAME, over, runs_root=tmp_path)
    warned = [r.getMessage() for r in caplog.records if "train.compile" in r.getMessage()]
    assert warned == ["train.compile=true: no C++ compiler (test); training without it"]
    assert metrics["val_loss"] > 0


def test_a_compiled_model_saves_and_loads_without_the_orig_mod_prefix(tmp_path):
    model = GPT(GPTConfig(vocab_size=20, block_size=8, n_layer=1, n_head=2, n_embd=8))
    compiled = torch.compile(model)  # lazy: nothing is compiled until it is called
    assert any(k.startswith("_orig_mod.") for k in compiled.state_dict())  # what torch.compile names
    checkpoint.save_weights(compiled, tmp_path / "model.safetensors")
    from safetensors import safe_open

    with safe_open(str(tmp_path / "model.safetensors"), "pt") as f:
        assert not any(k.startswith("_orig_mod.") for k in f.keys())
    fresh = GPT(model.config)
    checkpoint.load_weights(torch.compile(fresh), tmp_path / "model.safetensors")
    assert all(torch.equal(p, q) for p, q in zip(model.parameters(), fresh.parameters(), strict=True))


def test_keep_freed_memory_applies_on_glibc():
    import platform

    applied = speed.keep_freed_memory()
    assert applied == (platform.libc_ver()[0] == "glibc")


@pytest.mark.parametrize("scale", [0.01, 10.0])  # within the bound, and clipped
def test_clip_grad_norm_equals_torch_to_the_bit(scale):
    from nanozoo.core.trainer import clip_grad_norm

    torch.manual_seed(0)
    a, b = nn.Linear(8, 16), nn.Linear(8, 16)
    for p in a.parameters():
        p.grad = torch.randn_like(p) * scale
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        q.grad = p.grad.clone()
    ours = clip_grad_norm(a.parameters(), 1.0)
    theirs = nn.utils.clip_grad_norm_(b.parameters(), 1.0)
    assert torch.equal(ours, theirs)
    assert all(torch.equal(p.grad, q.grad) for p, q in zip(a.parameters(), b.parameters(), strict=True))


def test_clip_grad_norm_of_no_gradients_is_zero_like_torchs():
    from nanozoo.core.trainer import clip_grad_norm

    frozen = nn.Linear(4, 4).requires_grad_(False)  # a step in which nothing is trained
    assert clip_grad_norm(frozen.parameters(), 1.0) == nn.utils.clip_grad_norm_(frozen.parameters(), 1.0) == 0
