"""micrograd's neural-network library: Neuron, Layer, MLP and a plain SGD step, on scalar `Value`s.

Reference: karpathy/micrograd `nn.py`. Same structure and initialisation (weights uniform in [-1, 1],
biases 0, ReLU on every layer but the last). Ours draws from an explicit `random.Random` so that a seed
reproduces a model (seed 1337 gives the demo's weights), and a neuron is one n-ary node,
`Value.dot(w, x, b, relu=True)`, where the reference builds a chain of 2n + 1 binary ones; the values
are the same (the moons test reproduces demo.ipynb's losses to 1e-12).
"""

from __future__ import annotations

import random
from collections.abc import Sequence

from nanozoo.autograd.engine import Value


class Module:
    """Something with parameters: `parameters()` lists them, `zero_grad()` clears their gradients."""

    def parameters(self) -> list[Value]:
        return []

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = 0.0


# ---------------------------------------------------------------------------------------------------
# Neuron, Layer, MLP


class Neuron(Module):
    """out = relu(w . x + b), or w . x + b for a linear neuron."""

    def __init__(self, nin: int, nonlin: bool = True, rng: random.Random | None = None):
        if nin < 1:
            raise ValueError(f"nin={nin}: a neuron needs at least one input")
        rng = rng or random.Random()
        self.w = [Value(rng.uniform(-1, 1)) for _ in range(nin)]
        self.b = Value(0.0)
        self.nonlin = nonlin

    def __call__(self, x: Sequence) -> Value:
        if len(x) != len(self.w):
            raise ValueError(f"this neuron takes {len(self.w)} inputs, got {len(x)}")
        ### BEGIN SOLUTION
        return Value.dot(self.w, x, self.b, relu=self.nonlin)  # relu(w . x + b) as one node
        ### END SOLUTION

    def parameters(self) -> list[Value]:
        return self.w + [self.b]

    def __repr__(self) -> str:
        return f"{'ReLU' if self.nonlin else 'Linear'}Neuron({len(self.w)})"


class Layer(Module):
    """`nout` neurons reading the same inputs."""

    def __init__(self, nin: int, nout: int, nonlin: bool = True, rng: random.Random | None = None):
        if nout < 1:
            raise ValueError(f"nout={nout}: a layer needs at least one neuron")
        self.neurons = [Neuron(nin, nonlin, rng) for _ in range(nout)]

    def __call__(self, x: Sequence) -> Value | list[Value]:
        out = [n(x) for n in self.neurons]
        return out[0] if len(out) == 1 else out  # as in the reference: a one-neuron layer gives a Value

    def parameters(self) -> list[Value]:
        return [p for n in self.neurons for p in n.parameters()]

    def __repr__(self) -> str:
        return f"Layer of [{', '.join(str(n) for n in self.neurons)}]"


class MLP(Module):
    """A multi-layer perceptron: `MLP(2, [16, 16, 1])`: 2 inputs, two ReLU layers of 16, a linear output."""

    def __init__(self, nin: int, nouts: Sequence[int], seed: int | None = None):
        if not nouts:
            raise ValueError("nouts=[]: an MLP needs at least one layer")
        rng = random.Random(seed)
        sizes = [nin, *nouts]
        self.layers = [
            Layer(sizes[i], sizes[i + 1], nonlin=i != len(nouts) - 1, rng=rng) for i in range(len(nouts))
        ]

    def __call__(self, x: Sequence) -> Value | list[Value]:
        for layer in self.layers:
            x = layer(x)
            x = [x] if isinstance(x, Value) and layer is not self.layers[-1] else x
        return x

    def parameters(self) -> list[Value]:
        return [p for layer in self.layers for p in layer.parameters()]

    def __repr__(self) -> str:
        return f"MLP of [{', '.join(str(layer) for layer in self.layers)}]"


# ---------------------------------------------------------------------------------------------------
# Optimiser


class SGD:
    """Plain stochastic gradient descent: p <- p - lr * dL/dp. Change `lr` between steps for a schedule."""

    def __init__(self, params: Sequence[Value], lr: float = 0.1):
        if lr <= 0:
            raise ValueError(f"lr={lr} must be > 0")
        self.params = list(params)
        self.lr = lr

    def step(self) -> None:
        lr = self.lr
        for p in self.params:
            p.data -= lr * p.grad

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = 0.0
