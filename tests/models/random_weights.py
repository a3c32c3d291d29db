"""Test helpers of the model tests (imported by conftest.py's fixtures and by test modules)."""

import torch


def randomise(model, seed=0, scale=0.5):
    """Every parameter random (biases non-zero, LayerNorms not the identity), so that a dropped, swapped or
    mis-transposed tensor changes the outputs; a fresh model would hide them (zero biases, unit gains)."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * scale)
    return model


def same_model(a, b, idx, atol=1e-5):
    """Two models of the same weights give the same logits, loss and gradient of every parameter on idx."""
    (logits_a, loss_a), (logits_b, loss_b) = a(idx, idx), b(idx, idx)
    torch.testing.assert_close(logits_b, logits_a, atol=atol, rtol=atol)
    loss_a.backward()
    loss_b.backward()
    for (name, pa), pb in zip(a.named_parameters(), b.parameters(), strict=True):
        torch.testing.assert_close(pb.grad, pa.grad, atol=atol, rtol=atol, msg=lambda m, n=name: f"{n}: {m}")
