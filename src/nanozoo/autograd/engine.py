"""micrograd: a scalar-valued reverse-mode autograd engine.

Reference: Andrej Karpathy, micrograd (github.com/karpathy/micrograd, `engine.py`), and the lecture
"The spelled-out intro to neural networks and backpropagation". A `Value` wraps one float; every
operation returns a new `Value` that remembers its operands (`_prev`) and the local derivative of its
output with respect to each operand (`_local`). `backward()` visits the graph in reverse topological
order and applies the chain rule: `child.grad += local * node.grad`.

How ours differs from the reference, keeping the same API:
- each op computes its local derivatives next to its forward, as numbers (no closure per node); the
  derivative is taken at the point of the forward pass;
- the topological order is found without recursion (a chain of 100,000 ops backpropagates): a
  stack-based walk, then creation order, which is always a topological order;
- `Value.sum` and `Value.dot` are n-ary nodes: a neuron, relu(w . x + b), is one node instead of 2n + 1;
- a dead relu records no derivatives, so backward skips what only it depends on;
- `__slots__` and plain floats (numpy scalars are converted on the way in); no reference cycles, so
  `gc_paused` can switch off the cyclic collector during a step.
The moons demo ran 13.5x faster than the reference design with the garbage collector out of both
timings, 170x with it on (benchmarks/bench_micrograd.py; figures and conditions in benchmarks/RESULTS.md).
"""

from __future__ import annotations

import gc
import math
import numbers
from collections.abc import Iterable, Sequence
from contextlib import contextmanager
from itertools import count
from operator import attrgetter, mul

_ids = count()  # creation order: a node is always created after its operands, so it is a topological order
_by_id = attrgetter("_id")


def _as_float(x) -> float:
    """The float inside a Python or numpy real number; anything else is a TypeError naming it."""
    if type(x) is int or type(x) is float:
        return float(x)
    if isinstance(x, numbers.Real) and not isinstance(x, bool):
        return float(x)
    raise TypeError(f"a Value holds a real number, got {x!r} ({type(x).__name__})")


def _lift(x) -> Value:
    """A Value as it is; a number as a new constant leaf."""
    return x if isinstance(x, Value) else Value(_as_float(x))


@contextmanager
def gc_paused():
    """Pause Python's cyclic garbage collector for one training step (forward, backward, update).

    A step builds a graph of thousands of live objects, and the cyclic collector, triggered by the
    allocations, scans them again and again although none can be garbage yet. Our graphs hold no
    reference cycles (a node points only at its operands), so reference counting frees each graph as
    soon as the next step replaces it: pausing the collector loses nothing. Measured on the moons demo
    (benchmarks/bench_micrograd.py, loaded 2-core machine): 19.9 ms a step with it, 12.1 ms paused.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _node(data: float, prev: tuple, local: tuple, op: str) -> Value:
    """A result node: `local[i]` is d(data)/d(prev[i].data), computed by the op that made it."""
    v = Value.__new__(Value)
    v.data, v.grad, v._prev, v._local, v._op, v._id, v.label = data, 0.0, prev, local, op, next(_ids), ""
    return v


# ---------------------------------------------------------------------------------------------------
# Value


class Value:
    """One scalar in a computation graph: `data`, its gradient `grad`, and how it was made."""

    # _prev: the operands; _local: d(data)/d(operand) for each, or () where no gradient flows (a leaf)
    __slots__ = ("data", "grad", "_prev", "_local", "_op", "_id", "label")

    def __init__(self, data, label: str = ""):
        self.data = data if type(data) is float else _as_float(data)
        self.grad = 0.0
        self._prev: tuple[Value, ...] = ()
        self._local: tuple[float, ...] = ()
        self._op = ""
        self._id = next(_ids)
        self.label = label

    def __repr__(self) -> str:
        return f"Value(data={self.data:.6g}, grad={self.grad:.6g})"

    # -- binary ops: the local derivatives sit in the tuple after the operands -----------------------

    def __add__(self, other) -> Value:
        o = other if type(other) is Value else _lift(other)
        return _node(self.data + o.data, (self, o), (1.0, 1.0), "+")

    def __sub__(self, other) -> Value:
        o = other if type(other) is Value else _lift(other)
        return _node(self.data - o.data, (self, o), (1.0, -1.0), "-")

    def __mul__(self, other) -> Value:
        o = other if type(other) is Value else _lift(other)
        return _node(self.data * o.data, (self, o), (o.data, self.data), "*")  # d(ab)/da = b, d/db = a

    def __truediv__(self, other) -> Value:
        o = other if type(other) is Value else _lift(other)
        if o.data == 0.0:
            raise ZeroDivisionError(f"division by zero: {self.data!r} / {o.data!r}")
        q = self.data / o.data
        return _node(q, (self, o), (1.0 / o.data, -q / o.data), "/")  # d(a/b)/db = -a/b^2

    def __pow__(self, k) -> Value:
        if isinstance(k, Value):
            raise TypeError("Value ** Value is not supported: the exponent must be a number (use exp/log)")
        k = _as_float(k)
        x = self.data
        if x == 0.0 and k < 0:
            raise ZeroDivisionError(f"0.0 ** {k!r}: zero to a negative power")
        if x < 0.0 and not k.is_integer():
            raise ValueError(f"{x!r} ** {k!r}: a negative number to a non-integer power is not real")
        if x == 0.0 and k < 1.0:  # subtle: 0 ** (k - 1) would raise; the slope at 0 is 0 (k = 0) or infinite
            d = 0.0 if k == 0.0 else math.inf
        else:
            d = k * x ** (k - 1)  # d(x^k)/dx = k x^(k-1)
        return _node(x**k, (self,), (d,), f"**{k:g}")

    def __rpow__(self, base) -> Value:
        b = _as_float(base)
        if b <= 0.0:
            raise ValueError(f"{b!r} ** Value: the base must be positive (the derivative needs log(base))")
        out = b**self.data
        return _node(out, (self,), (out * math.log(b),), f"{b:g}**")  # d(b^x)/dx = b^x log b

    def __radd__(self, other) -> Value:
        return _lift(other) + self

    def __rsub__(self, other) -> Value:
        return _lift(other) - self

    def __rmul__(self, other) -> Value:
        return _lift(other) * self

    def __rtruediv__(self, other) -> Value:
        return _lift(other) / self

    def __neg__(self) -> Value:
        return _node(-self.data, (self,), (-1.0,), "neg")

    # -- unary functions ---------------------------------------------------------------------------

    def exp(self) -> Value:
        try:
            e = math.exp(self.data)
        except OverflowError:
            raise OverflowError(f"exp({self.data!r}) overflows a float") from None
        return _node(e, (self,), (e,), "exp")  # d(e^x)/dx = e^x

    def log(self) -> Value:
        if self.data <= 0.0:
            raise ValueError(f"log({self.data!r}): the logarithm needs a positive number")
        return _node(math.log(self.data), (self,), (1.0 / self.data,), "log")

    def tanh(self) -> Value:
        ### BEGIN SOLUTION
        t = math.tanh(self.data)
        return _node(t, (self,), (1.0 - t * t,), "tanh")  # d tanh/dx = 1 - tanh^2
        ### END SOLUTION

    def relu(self) -> Value:
        x = self.data
        if x > 0.0:
            return _node(x, (self,), (1.0,), "relu")
        # dead: the derivative is 0, so no gradient flows back. The node keeps its operand (graph.to_dot
        # draws it) but no derivatives: backward treats it as a leaf and skips everything only it depends on.
        return _node(0.0, (self,), (), "relu")

    def sigmoid(self) -> Value:
        x = self.data
        if x >= 0.0:
            s = 1.0 / (1.0 + math.exp(-x))
        else:  # subtle: exp(-x) overflows for x < -709; this branch only ever takes exp of a negative
            e = math.exp(x)
            s = e / (1.0 + e)
        return _node(s, (self,), (s * (1.0 - s),), "sigmoid")  # d sigma/dx = sigma (1 - sigma)

    # -- n-ary nodes: one node, n operands, n local derivatives ------------------------------------

    @staticmethod
    def sum(values: Iterable) -> Value:
        """sum_i v_i as one node (the built-in `sum` makes a chain of n - 1 additions)."""
        vs = tuple(v if type(v) is Value else _lift(v) for v in values)
        if not vs:
            raise ValueError("Value.sum of an empty sequence")
        return _node(math.fsum([v.data for v in vs]), vs, (1.0,) * len(vs), "sum")

    @staticmethod
    def dot(ws: Sequence, xs: Sequence, bias=None, relu: bool = False) -> Value:
        """sum_i w_i x_i (+ bias) as one node: d/dw_i = x_i, d/dx_i = w_i, d/dbias = 1.

        relu=True: relu(w . x + bias), still one node (a whole neuron): the same derivatives where the
        sum is positive; none where it is not (a dead unit, as in `relu`).
        """
        if len(ws) != len(xs):
            raise ValueError(f"Value.dot needs two sequences of one length, got {len(ws)} and {len(xs)}")
        try:  # the hot path: Values on both sides
            wd, xd = [w.data for w in ws], [x.data for x in xs]
            z = sum(map(mul, wd, xd))
        except (AttributeError, TypeError):  # a number among them (subtle: numpy floats have a .data too)
            z = None
        if type(z) is not float:
            out = Value._dot_mixed(ws, xs, bias)
            return out.relu() if relu else out
        if bias is None:
            prev, local = (*ws, *xs), (*xd, *wd)
        else:
            b = bias if type(bias) is Value else _lift(bias)
            prev, local, z = (*ws, *xs, b), (*xd, *wd, 1.0), z + b.data
        if relu:
            return _node(z, prev, local, "dot-relu") if z > 0.0 else _node(0.0, prev, (), "dot-relu")
        return _node(z, prev, local, "dot")

    @staticmethod
    def _dot_mixed(ws: Sequence, xs: Sequence, bias) -> Value:
        """`dot` where some operands are numbers: numbers among xs are constants, not operands."""
        ws = [w if type(w) is Value else _lift(w) for w in ws]
        wd = [w.data for w in ws]
        n_values = sum(type(x) is Value for x in xs)
        if n_values == 0:  # all numbers (a network's raw inputs): constants, not operands of the node
            xd = [x if type(x) is float else _as_float(x) for x in xs]
            prev, local = ws, xd
        else:
            xs = xs if n_values == len(xs) else [_lift(x) for x in xs]
            xd = [x.data for x in xs]
            prev, local = (*ws, *xs), (*xd, *wd)
        out = sum(map(mul, wd, xd))
        if bias is None:
            return _node(out, tuple(prev), tuple(local), "dot")
        b = bias if type(bias) is Value else _lift(bias)
        return _node(out + b.data, (*prev, b), (*local, 1.0), "dot")

    # -- backward ----------------------------------------------------------------------------------

    def backward(self) -> None:
        """Fill `.grad` of every node this one depends on with d(self)/d(node) (accumulating, like torch)."""
        self.grad = 1.0
        ### BEGIN SOLUTION
        for v in self._reverse_topo():
            g = v.grad
            if g == 0.0:  # nothing to pass on; subtle: torch would turn 0 * inf into nan here
                continue
            for c, d in zip(v._prev, v._local):  # noqa: B905  (one length by construction; strict= costs 30%)
                c.grad += d * g  # the chain rule; += because c may feed several nodes
        ### END SOLUTION

    def _reverse_topo(self) -> list[Value]:
        """The nodes `self` depends on, `self` first, each before its operands; iterative, no recursion."""
        ### BEGIN SOLUTION
        seen, stack, nodes = {self}, [self], []
        while stack:  # an explicit stack instead of recursion: depth is not limited by the interpreter
            v = stack.pop()
            if v._local:  # leaves (and dead relus) pass no gradient on: they need no place in the order
                nodes.append(v)
                for c in v._prev:
                    if c not in seen:
                        seen.add(c)
                        stack.append(c)
        nodes.sort(key=_by_id, reverse=True)  # creation order is a topological order
        ### END SOLUTION
        return nodes
