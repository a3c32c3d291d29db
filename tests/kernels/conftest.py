import os

import pytest
import torch
import torch.nn.functional as F

# The Triton kernels are tested on the CPU under the Triton interpreter, which is chosen when a kernel is
# defined (when nanozoo.kernels.flash_attention_triton is imported): set it before any test imports it.
# Collection imports every conftest before any test runs, in every xdist worker.
os.environ.setdefault("TRITON_INTERPRET", "1")


def random_qkv(B, H, T, D, dtype=torch.float32):
    g = torch.Generator().manual_seed(T * D)
    q, k, v, do = (torch.randn(B, H, T, D, generator=g, dtype=dtype) for _ in range(4))
    return q.requires_grad_(), k.requires_grad_(), v.requires_grad_(), do


def assert_equals_sdpa(ours, T, D, causal, atol, rtol):
    """Output and dQ, dK, dV of `ours(q, k, v, causal)` against SDPA's, within atol + rtol * |SDPA|, on random
    (1, 2, T, D) inputs."""
    q, k, v, do = random_qkv(1, 2, T, D)
    o = ours(q, k, v, causal)
    grads = torch.autograd.grad(o, (q, k, v), do)
    o_ref = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    grads_ref = torch.autograd.grad(o_ref, (q, k, v), do)
    for name, a, b in zip(("O", "dQ", "dK", "dV"), (o, *grads), (o_ref, *grads_ref), strict=True):
        torch.testing.assert_close(a, b, atol=atol, rtol=rtol, msg=lambda m, n=name: f"{n}: {m}")


@pytest.fixture(scope="session")
def against_sdpa():
    return assert_equals_sdpa


@pytest.fixture(scope="session")
def qkv():
    return random_qkv
