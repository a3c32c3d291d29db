"""Every hand-written backward against autograd in float64 (the issue's 1e-6), per layer and end to end;
the whole model against the same network built from torch's own layers (nn.Embedding, nn.Linear,
F.batch_norm), forward, gradients and running statistics."""

import torch
import torch.nn.functional as F
from torch import nn

from nanozoo.models.backprop import (
    BackpropConfig,
    ManualMLP,
    batchnorm_backward,
    cross_entropy_backward,
    embedding_backward,
    linear_backward,
    manual_forward,
    tanh_backward,
)

TOL = dict(atol=1e-6, rtol=0)
f64 = dict(dtype=torch.float64)


def _leaf(*shape):
    return torch.randn(*shape, **f64).requires_grad_()


def test_cross_entropy_backward():
    torch.manual_seed(0)
    logits, y = _leaf(8, 5), torch.randint(0, 5, (8,))
    F.cross_entropy(logits, y).backward()
    torch.testing.assert_close(cross_entropy_backward(logits.detach(), y), logits.grad, **TOL)


def test_linear_backward():
    torch.manual_seed(0)
    x, W, b = _leaf(8, 5), _leaf(5, 3), _leaf(3)
    dout = torch.randn(8, 3, **f64)
    ((x @ W + b) * dout).sum().backward()
    for ours, theirs in zip(
        linear_backward(dout, x.detach(), W.detach()), (x.grad, W.grad, b.grad), strict=True
    ):
        torch.testing.assert_close(ours, theirs, **TOL)


def test_tanh_backward():
    torch.manual_seed(0)
    x, dout = _leaf(8, 5), torch.randn(8, 5, **f64)
    h = torch.tanh(x)
    (h * dout).sum().backward()
    torch.testing.assert_close(tanh_backward(dout, h.detach()), x.grad, **TOL)


def test_batchnorm_backward():
    torch.manual_seed(0)
    x, gamma, beta = _leaf(16, 5), _leaf(5), _leaf(5)
    dout = torch.randn(16, 5, **f64)
    var_inv = (x.var(0, unbiased=False) + 1e-5) ** -0.5
    xhat = (x - x.mean(0)) * var_inv
    ((gamma * xhat + beta) * dout).sum().backward()
    ours = batchnorm_backward(dout, xhat.detach(), gamma.detach(), var_inv.detach())
    for a, b in zip(ours, (x.grad, gamma.grad, beta.grad), strict=True):
        torch.testing.assert_close(a, b, **TOL)


def test_embedding_backward_accumulates_repeated_rows():
    torch.manual_seed(0)
    C, idx = _leaf(6, 4), torch.tensor([[1, 1, 2], [0, 1, 5]])  # row 1 is read three times
    demb = torch.randn(2, 3, 4, **f64)
    (C[idx] * demb).sum().backward()
    torch.testing.assert_close(embedding_backward(demb, idx, 6), C.grad, **TOL)


def test_end_to_end_manual_equals_autograd():
    torch.manual_seed(0)
    model = ManualMLP(BackpropConfig(n_hidden=16)).double()
    X, Y = torch.randint(0, 27, (32, 3)), torch.randint(0, 27, (32,))
    _, loss = model(X, Y)  # the trainer's path: autograd.Function whose backward is ours
    loss.backward()
    ours = [p.grad.clone() for p in model.params()]
    model.zero_grad()
    ref = [p.detach().clone().requires_grad_() for p in model.params()]
    ref_loss, _ = manual_forward(X, Y, *ref, eps=1e-5)  # the same forward, differentiated by autograd
    ref_loss.backward()
    torch.testing.assert_close(loss, ref_loss, **TOL)
    for name, a, p in zip(("C", "W1", "b1", "bngain", "bnbias", "W2", "b2"), ours, ref, strict=True):
        torch.testing.assert_close(a, p.grad, **TOL, msg=lambda m, n=name: f"{n}: {m}")
    assert ours[2].abs().max() < 1e-10  # b1 before BatchNorm gets no gradient: the mean removes it


def test_eval_mode_uses_running_statistics():
    torch.manual_seed(0)
    model = ManualMLP(BackpropConfig(n_hidden=8, momentum=1.0))  # running stats = the last batch's
    X, Y = torch.randint(0, 27, (64, 3)), torch.randint(0, 27, (64,))
    model(X, Y)
    with torch.no_grad():
        h = model.C[X].view(64, -1) @ model.W1 + model.b1  # the training batch's pre-activations
    torch.testing.assert_close(model.running_mean, h.mean(0), atol=1e-6, rtol=0)
    torch.testing.assert_close(model.running_var, h.var(0, unbiased=True), atol=1e-5, rtol=1e-5)
    model.eval()
    X2 = torch.randint(0, 27, (5, 3))  # another batch, normalised with the running statistics
    logits, _ = model(X2)
    with torch.no_grad():
        h2 = (model.C[X2].view(5, -1) @ model.W1 + model.b1 - h.mean(0)) / torch.sqrt(h.var(0) + 1e-5)
        want = torch.tanh(model.bngain * h2 + model.bnbias) @ model.W2 + model.b2
    torch.testing.assert_close(logits, want, atol=1e-5, rtol=1e-5)


def torch_reference(model: ManualMLP):
    """The same network from torch's layers, holding copies of `model`'s parameters and statistics.
    Returns forward(X, training), the running statistics, and grads() in the order of `model.params()`."""
    cfg = model.config
    emb = nn.Embedding.from_pretrained(model.C.detach().clone(), freeze=False)
    fc1, fc2 = nn.Linear(*model.W1.shape).double(), nn.Linear(*model.W2.shape).double()
    with torch.no_grad():  # nn.Linear keeps its weight as (out, in): ours transposed
        for fc, W, b in ((fc1, model.W1, model.b1), (fc2, model.W2, model.b2)):
            fc.weight.copy_(W.T)
            fc.bias.copy_(b)
    gain, bias = (nn.Parameter(p.detach().clone()) for p in (model.bngain, model.bnbias))
    stats = [model.running_mean.clone(), model.running_var.clone()]

    def forward(X, training):
        h = fc1(emb(X).flatten(1))  # (B, T, E) -> (B, T * E) -> (B, H)
        h = F.batch_norm(h, *stats, gain, bias, training, cfg.momentum, cfg.eps)
        return fc2(torch.tanh(h))  # (B, V)

    def grads():
        W1, W2 = fc1.weight.grad.T, fc2.weight.grad.T
        return [emb.weight.grad, W1, fc1.bias.grad, gain.grad, bias.grad, W2, fc2.bias.grad]

    return forward, stats, grads


def test_training_step_equals_torch_layers():
    torch.manual_seed(0)
    model = ManualMLP(BackpropConfig(n_hidden=16)).double()
    forward, stats, grads = torch_reference(model)
    X, Y = torch.randint(0, 27, (32, 3)), torch.randint(0, 27, (32,))
    _, loss = model(X, Y)  # our forward and our backward
    loss.backward()
    ref_loss = F.cross_entropy(forward(X, training=True), Y)
    ref_loss.backward()
    torch.testing.assert_close(loss, ref_loss, **TOL)
    for name, p, g in zip(
        ("C", "W1", "b1", "bngain", "bnbias", "W2", "b2"), model.params(), grads(), strict=True
    ):
        torch.testing.assert_close(p.grad, g, **TOL, msg=lambda m, n=name: f"{n}: {m}")
    # running statistics updated as torch's BatchNorm does (momentum, unbiased variance)
    torch.testing.assert_close(model.running_mean, stats[0], **TOL)
    torch.testing.assert_close(model.running_var, stats[1], **TOL)


def test_eval_forward_equals_torch_layers():
    torch.manual_seed(1)
    model = ManualMLP(BackpropConfig(n_hidden=16)).double()
    model(torch.randint(0, 27, (64, 3)), torch.randint(0, 27, (64,)))  # running stats away from 0 and 1
    forward, _, _ = torch_reference(model)
    X = torch.randint(0, 27, (5, 3))
    with torch.no_grad():
        torch.testing.assert_close(model.eval()(X)[0], forward(X, training=False), **TOL)


def test_parameter_count_is_the_notebooks():
    assert sum(p.numel() for p in ManualMLP(BackpropConfig()).parameters()) == 12297
