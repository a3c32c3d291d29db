"""micrograd speed: nanozoo.autograd against the reference design, on the moons demo, in one process.

The workload is karpathy/micrograd's demo.ipynb: make_moons(100, noise=0.1), MLP 2-16-16-1, max-margin
loss + 1e-4 L2, `--steps` full-batch SGD steps (the demo's 100) with lr 1 - 0.9 k/steps (the demo's
1 - 0.9 k/100 at 100 steps). Every engine runs the same user code (the demo's `loss()`, builtin `sum`
included) from the same initial weights, so the losses must agree.

Engines:
  naive        the reference design, written out below: a closure per node, children in a set,
               recursive topological sort (karpathy/micrograd engine.py and nn.py)
  ours-unfused nanozoo's Value with the reference nn (a neuron is a chain of 2n binary nodes)
  ours         nanozoo.autograd: Value + MLP, a neuron's w.x + b is one n-ary node

    python benchmarks/bench_micrograd.py [--steps 100] [--skip-naive]
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import platform
import random
import sys
import time

from sklearn.datasets import make_moons

from nanozoo.autograd import MLP as OurMLP
from nanozoo.autograd import Value as OurValue
from nanozoo.autograd import gc_paused

# ---------------------------------------------------------------------------------------------------
# The naive baseline: karpathy/micrograd's engine and nn, trimmed to the ops the demo uses


class NaiveValue:
    def __init__(self, data, _children=(), _op=""):
        self.data = data
        self.grad = 0
        self._backward = lambda: None
        self._prev = set(_children)
        self._op = _op

    def __add__(self, other):
        other = other if isinstance(other, NaiveValue) else NaiveValue(other)
        out = NaiveValue(self.data + other.data, (self, other), "+")

        def _backward():
            self.grad += out.grad
            other.grad += out.grad

        out._backward = _backward
        return out

    def __mul__(self, other):
        other = other if isinstance(other, NaiveValue) else NaiveValue(other)
        out = NaiveValue(self.data * other.data, (self, other), "*")

        def _backward():
            self.grad += other.data * out.grad
            other.grad += self.data * out.grad

        out._backward = _backward
        return out

    def relu(self):
        out = NaiveValue(0 if self.data < 0 else self.data, (self,), "ReLU")

        def _backward():
            self.grad += (out.data > 0) * out.grad

        out._backward = _backward
        return out

    def backward(self):
        topo, visited = [], set()

        def build_topo(v):
            if v not in visited:
                visited.add(v)
                for child in v._prev:
                    build_topo(child)
                topo.append(v)

        build_topo(self)
        self.grad = 1
        for v in reversed(topo):
            v._backward()

    def __neg__(self):
        return self * -1

    def __radd__(self, other):
        return self + other

    def __rmul__(self, other):
        return self * other


class RefNeuron:
    def __init__(self, V, nin, nonlin=True):
        self.w = [V(random.uniform(-1, 1)) for _ in range(nin)]
        self.b = V(0)
        self.nonlin = nonlin

    def __call__(self, x):
        act = sum((wi * xi for wi, xi in zip(self.w, x, strict=True)), self.b)
        return act.relu() if self.nonlin else act

    def parameters(self):
        return self.w + [self.b]


class RefMLP:
    def __init__(self, V, nin, nouts):
        sz = [nin, *nouts]
        self.layers = [
            [RefNeuron(V, sz[i], nonlin=i != len(nouts) - 1) for _ in range(sz[i + 1])]
            for i in range(len(nouts))
        ]

    def __call__(self, x):
        for layer in self.layers:
            x = [n(x) for n in layer]
        return x[0]

    def parameters(self):
        return [p for layer in self.layers for n in layer for p in n.parameters()]

    def zero_grad(self):
        for p in self.parameters():
            p.grad = 0


# ---------------------------------------------------------------------------------------------------
# The demo's training loop, the same for every engine


def train(V, model, X, y, steps: int, pause_gc: bool) -> tuple[float, float, float]:
    """(seconds in the steps, loss at the last step, accuracy at the last step).

    pause_gc: the cyclic collector is off inside each step and a full collection runs between steps,
    outside the timed region: this times the engines' own work alone (the naive engine's closures make
    reference cycles, so without that collection its garbage would pile up for the whole run).
    """

    def loss():
        inputs = [list(map(V, xrow)) for xrow in X]
        scores = list(map(model, inputs))
        losses = [(1 + -yi * si).relu() for yi, si in zip(y, scores, strict=True)]
        data_loss = sum(losses) * (1.0 / len(losses))
        reg_loss = 1e-4 * sum(p * p for p in model.parameters())
        acc = [(yi > 0) == (si.data > 0) for yi, si in zip(y, scores, strict=True)]
        return data_loss + reg_loss, sum(acc) / len(acc)

    secs = 0.0
    for k in range(steps):
        if pause_gc:
            gc.disable()
        t0 = time.perf_counter()
        total, acc = loss()
        model.zero_grad()
        total.backward()
        lr = 1.0 - 0.9 * k / steps  # the demo's 1 - 0.9 k/100 at its 100 steps; never negative
        for p in model.parameters():
            p.data -= lr * p.grad
        secs += time.perf_counter() - t0
        if pause_gc:
            gc.enable()
            gc.collect()  # untimed
    return secs, total.data, acc


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--skip-naive", action="store_true", help="the naive engine takes ~1 s a step")
    args = ap.parse_args()
    sys.setrecursionlimit(10_000)  # the naive engine's recursive sort needs more than the default 1000

    Xa, ya = make_moons(n_samples=100, noise=0.1, random_state=1337)  # = np.random.seed(1337); make_moons
    X, y = Xa.tolist(), (2 * ya - 1).tolist()  # Python numbers for every engine (numpy scalars are slower)
    engines = [] if args.skip_naive else [("naive (closures, recursion)", NaiveValue, "ref")]
    engines += [
        ("ours-unfused (reference nn)", OurValue, "ref"),
        ("ours (nanozoo.autograd)", OurValue, "ours"),
    ]

    print(f"micrograd moons demo: {args.steps} steps, 100 points, MLP 2-16-16-1 (337 parameters)")
    print(f"python {platform.python_version()}, {os.cpu_count()} CPUs, {platform.machine()}")
    print(
        f"{'engine':<30} {'gc':<7} {'total s':>8} {'ms/step':>8} {'last loss':>19} {'acc':>5} {'vs naive':>9}"
    )
    losses, secs_of = [], {}
    for pause_gc in (False, True):  # paused: the collector off in each step, a collection between steps
        base = None
        for name, V, nn in engines:
            random.seed(1337)  # the demo's seed: every engine starts from the same weights
            model = RefMLP(V, 2, [16, 16, 1]) if nn == "ref" else OurMLP(2, [16, 16, 1], seed=1337)
            secs, final, acc = train(V, model, X, y, args.steps, pause_gc)
            base = base or (secs if V is NaiveValue else None)
            gc_mode = "paused" if pause_gc else "on"
            secs_of[name, gc_mode] = secs
            ratio = f"{base / secs:8.1f}x" if base else "-"
            ms = 1e3 * secs / args.steps
            print(f"{name:<30} {gc_mode:<7} {secs:8.2f} {ms:8.1f} {final:19.15f} {acc:5.2f} {ratio:>9}")
            losses.append(final)
    # as each ships: the reference with the collector on; moons-mlp pauses it in each step (gc_paused), which
    # frees our acyclic graphs by reference counting alone, so nothing is left to collect between steps
    model = OurMLP(2, [16, 16, 1], seed=1337)
    t0 = time.perf_counter()
    with gc_paused():
        train(OurValue, model, X, y, args.steps, pause_gc=False)
    ours = time.perf_counter() - t0
    print(f"{'ours, in gc_paused (moons-mlp)':<30} {'paused':<7} {ours:8.2f} {1e3 * ours / args.steps:8.1f}")
    if not args.skip_naive:
        naive = secs_of[engines[0][0], "on"]
        print(
            f"as shipped: naive (gc on) {naive:.2f} s / ours (gc_paused) {ours:.2f} s = {naive / ours:.1f}x"
        )
    agree = all(math.isclose(a, losses[0], rel_tol=1e-9) for a in losses)
    print(f"losses agree across engines (rel 1e-9): {agree}")
    if not agree:
        sys.exit(1)


if __name__ == "__main__":
    main()
