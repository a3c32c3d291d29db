"""micrograd's nn: shapes and parameter counts, parity of an MLP with torch, SGD, and learning."""

import math

import pytest
import torch

from nanozoo.autograd import MLP, SGD, Layer, Neuron, Value


def test_parameter_counts_and_output_kinds():
    m = MLP(2, [16, 16, 1], seed=0)
    assert len(m.parameters()) == (2 * 16 + 16) + (16 * 16 + 16) + (16 + 1)  # 337, as in the micrograd demo
    assert isinstance(m([1.0, 2.0]), Value)
    assert len(Layer(3, 4, rng=None)([1.0, 2.0, 3.0])) == 4
    assert isinstance(MLP(2, [1, 3, 1], seed=0)([0.5, 0.5]), Value)  # a one-neuron hidden layer still chains


def test_same_seed_same_model():
    a, b = MLP(2, [4, 1], seed=7), MLP(2, [4, 1], seed=7)
    assert [p.data for p in a.parameters()] == [p.data for p in b.parameters()]


def test_mlp_forward_and_gradients_match_torch():
    m = MLP(3, [5, 4, 1], seed=1)
    x = [0.3, -1.2, 2.0]
    out = m(x)
    out.backward()
    h = torch.tensor(x, dtype=torch.float64)
    params = []
    for i, layer in enumerate(m.layers):
        w = torch.tensor(
            [[p.data for p in n.w] for n in layer.neurons], dtype=torch.float64, requires_grad=True
        )
        b = torch.tensor([n.b.data for n in layer.neurons], dtype=torch.float64, requires_grad=True)
        params.append((layer, w, b))
        h = w @ h + b
        h = h.relu() if i < len(m.layers) - 1 else h
    h.sum().backward()
    assert math.isclose(out.data, h.item(), rel_tol=1e-9, abs_tol=1e-12)
    for layer, w, b in params:
        for k, n in enumerate(layer.neurons):
            grads = w.grad[k].tolist()
            assert all(math.isclose(p.grad, g, abs_tol=1e-9) for p, g in zip(n.w, grads, strict=True))
            assert math.isclose(n.b.grad, b.grad[k].item(), abs_tol=1e-9)


def test_zero_grad_and_sgd_step():
    n = Neuron(2, nonlin=False, rng=None)
    w0 = [p.data for p in n.parameters()]
    out = n([1.0, -2.0])
    out.backward()
    opt = SGD(n.parameters(), lr=0.5)
    opt.step()
    expected = [w - 0.5 * g for w, g in zip(w0, [1.0, -2.0, 1.0], strict=True)]  # dL/dp: x1, x2, 1
    assert [p.data for p in n.parameters()] == expected
    n.zero_grad()
    assert all(p.grad == 0.0 for p in n.parameters())


def test_bad_sizes_are_clear_errors():
    with pytest.raises(ValueError, match="takes 2 inputs, got 3"):
        Neuron(2)([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="nin=0"):
        Neuron(0)
    with pytest.raises(ValueError, match="lr=0"):
        SGD([], lr=0)


def test_mlp_learns_xor():
    # learning test: 4 points, 60 full-batch steps of SGD on squared error must reach loss < 0.05
    data = [([0.0, 0.0], -1.0), ([0.0, 1.0], 1.0), ([1.0, 0.0], 1.0), ([1.0, 1.0], -1.0)]
    m = MLP(2, [8, 1], seed=3)
    opt = SGD(m.parameters(), lr=0.1)
    for _ in range(60):
        loss = Value.sum([(m(x) - y) ** 2 for x, y in data]) * 0.25
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.data < 0.05, loss.data
