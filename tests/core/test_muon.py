"""Muon: Newton-Schulz orthogonalises (singular values near 1), the step follows it, the AdamW half equals
torch's, the right parameters get Muon, and the trainer selects it (learning and exact resume)."""

import json

import pytest
import torch
from torch import nn

from nanozoo.core.config import ConfigError, TrainConfig
from nanozoo.core.muon import Muon, newton_schulz, param_groups
from nanozoo.core.runlog import read_metrics
from nanozoo.core.trainer import make_optimizer
from nanozoo.experiments import runner
from nanozoo.models.gpt import GPT, GPTConfig


@pytest.mark.parametrize("shape", [(64, 64), (32, 128), (128, 32), (16, 384)])
def test_newton_schulz_sets_every_singular_value_near_one(shape):
    g = torch.Generator().manual_seed(0)
    k = min(shape)
    U, _ = torch.linalg.qr(torch.randn(shape[0], k, generator=g))  # (R, k), orthonormal columns
    V, _ = torch.linalg.qr(torch.randn(shape[1], k, generator=g))  # (K, k)
    S = torch.logspace(0, -2, k)  # singular values over two decades: an ill-conditioned gradient
    O = newton_schulz(U @ torch.diag(S) @ V.T)
    s = torch.linalg.svdvals(O)
    # Jordan's coefficients do not converge to 1 but into a band around it (~0.7-1.2) after five steps
    assert s.min() > 0.6 and s.max() < 1.25, s
    exact = U @ V.T  # the nearest semi-orthogonal matrix
    assert (O * exact).sum() / (O.norm() * exact.norm()) > 0.95  # and the same directions


def test_newton_schulz_cannot_lift_a_vanishing_singular_value():
    # the limit of five steps: p(s) ~ a s near 0, so s below ~a^-5 = 0.002 of the Frobenius norm stays small
    G = torch.diag(torch.tensor([1.0, 1.0, 1e-6]))
    s = torch.linalg.svdvals(newton_schulz(G))
    assert s[:2].min() > 0.6 and s[2] < 1e-2


def test_a_muon_step_is_orthogonal_and_scaled():
    torch.manual_seed(0)
    for rows, cols in [(48, 24), (24, 48)]:
        w = nn.Parameter(torch.randn(rows, cols))
        w.grad = torch.randn(rows, cols)  # a random non-square matrix: its singular values stay apart from 0
        before = w.detach().clone()
        lr = 0.1
        Muon([{"params": [w], "use_muon": True}], lr=lr, momentum=0.9).step()
        step = (before - w.detach()) / (lr * max(1, rows / cols) ** 0.5)
        s = torch.linalg.svdvals(step)
        assert s.min() > 0.6 and s.max() < 1.25, s


def test_the_adamw_half_equals_torch_adamw():
    torch.manual_seed(0)
    a, b = nn.Linear(8, 4), nn.Linear(8, 4)
    b.load_state_dict(a.state_dict())
    kw = dict(lr=1e-2, betas=(0.9, 0.95), eps=1e-8, weight_decay=0.1)
    ours = Muon([{"params": a.parameters(), "use_muon": False}], **kw)
    theirs = torch.optim.AdamW(b.parameters(), **kw)
    for _ in range(5):
        x = torch.randn(16, 8)
        for m, opt in ((a, ours), (b, theirs)):
            opt.zero_grad()
            m(x).pow(2).mean().backward()
            opt.step()
    for p, q in zip(a.parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(p, q, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize("tie", [True, False])
def test_muon_takes_the_hidden_matrices_only(tie):
    model = GPT(GPTConfig(vocab_size=50, block_size=8, n_layer=2, n_head=2, n_embd=16))
    if not tie:
        model.lm_head.weight = nn.Parameter(model.lm_head.weight.detach().clone())
    muon, adam_matrices, flat = param_groups(model, 0.1)
    names = {id(p): n for n, p in model.named_parameters(remove_duplicate=False)}
    assert {names[id(p)].split(".", 3)[-1] for p in muon["params"]} == {
        "attn.c_attn.weight",
        "attn.c_proj.weight",
        "mlp.c_fc.weight",
        "mlp.c_proj.weight",
    }
    assert len(muon["params"]) == 8  # 4 per block
    assert {names[id(p)] for p in adam_matrices["params"]} <= {
        "transformer.wte.weight",
        "transformer.wpe.weight",
        "lm_head.weight",
    }
    assert len(adam_matrices["params"]) == (2 if tie else 3)
    assert all(p.dim() == 1 for p in flat["params"]) and flat["weight_decay"] == 0.0
    n = sum(len(g["params"]) for g in (muon, adam_matrices, flat))
    assert n == len(list(model.parameters()))  # each parameter once


def test_the_trainer_selects_muon_and_its_lr(tmp_path):
    model = GPT(GPTConfig(vocab_size=50, block_size=8, n_layer=1, n_head=2, n_embd=16))
    opt = make_optimizer(model, TrainConfig(optimizer="muon", lr=1e-3, muon_lr=0.05), torch.device("cpu"))
    assert isinstance(opt, Muon)
    assert [g["lr_scale"] for g in opt.param_groups] == [pytest.approx(50.0), 1.0, 1.0]
    assert isinstance(make_optimizer(model, TrainConfig(), torch.device("cpu")), torch.optim.AdamW)
    with pytest.raises(ConfigError, match="train.optimizer"):
        TrainConfig(optimizer="sgd")
    with pytest.raises(ConfigError, match="train.muon_momentum=1.0"):
        TrainConfig(muon_momentum=1.0)


def test_muon_trains_a_char_gpt_and_resumes_exactly(tmp_path, tiny_gpt_overrides):
    over = [*tiny_gpt_overrides, "train.optimizer=muon", "train.muon_lr=0.02", "train.lr=1e-2"]
    straight, final = runner.train("shakespeare-char-cpu", over, runs_root=tmp_path / "a")
    half, _ = runner.train("shakespeare-char-cpu", over, runs_root=tmp_path / "b", until=10)
    runner.train("shakespeare-char-cpu", [], resume=half)
    first = [r for r in read_metrics(straight) if "val_loss" in r]
    assert final["val_loss"] < first[0]["val_loss"] - 0.5  # 20 steps: from ln 65 = 4.17 to below 3.67
    loss = lambda d: [(r["step"], r["val_loss"]) for r in read_metrics(d) if "val_loss" in r]  # noqa: E731
    assert loss(straight) == loss(half)  # Muon's momentum is saved and restored
    assert json.loads((half / "trainer_state.json").read_text())["param_groups"][0]["use_muon"]
