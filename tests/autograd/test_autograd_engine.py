"""micrograd's Value against PyTorch float64: every op, random expression graphs, errors, deep chains."""

import math
import sys

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nanozoo.autograd import Value
from nanozoo.autograd.graph import to_dot

TOL = 1e-6  # values and gradients against torch float64, relative and absolute


def close(a: float, b: float) -> bool:
    return math.isclose(a, b, rel_tol=TOL, abs_tol=TOL)


# ---------------------------------------------------------------------------------------------------
# One worked example (karpathy/micrograd's test_sanity_check) and each op on its own


def test_worked_example_by_hand():
    # f(a, b) = a * b + b^2 at a = 2, b = -3: f = -6 + 9 = 3; df/da = b = -3; df/db = a + 2b = -4
    a, b = Value(2.0), Value(-3.0)
    f = a * b + b**2
    f.backward()
    assert (f.data, a.grad, b.grad) == (3.0, -3.0, -4.0)


def test_micrograd_sanity_check_against_torch():
    x = Value(-4.0)
    z = 2 * x + 2 + x
    q = z.relu() + z * x
    h = (z * z).relu()
    y = h + q + q * x
    y.backward()
    xt = torch.tensor([-4.0], dtype=torch.float64, requires_grad=True)
    zt = 2 * xt + 2 + xt
    qt = zt.relu() + zt * xt
    ht = (zt * zt).relu()
    yt = ht + qt + qt * xt
    yt.backward()
    assert close(y.data, yt.item()) and close(x.grad, xt.grad.item())


UNARY = {
    "neg": lambda v: -v,
    "exp": lambda v: v.exp(),
    "tanh": lambda v: v.tanh(),
    "relu": lambda v: v.relu(),
    "sigmoid": lambda v: v.sigmoid(),
    "log": lambda v: (v * v + 0.1).log(),
    "pow3": lambda v: v**3,
    "pow-1.5": lambda v: (v * v + 0.1) ** -1.5,
    "rpow": lambda v: 2.5**v,
    "rsub": lambda v: 1.0 - v,
    "rdiv": lambda v: 3.0 / (v * v + 0.1),
}


@pytest.mark.parametrize("name", sorted(UNARY))
@pytest.mark.parametrize("x", [-2.3, -0.4, 0.7, 1.9])
def test_unary_op_matches_torch(name, x):
    fn = UNARY[name]
    v = Value(x)
    out = fn(v)
    out.backward()
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    ot = fn(t)
    ot.backward()
    assert close(out.data, ot.item()), (out.data, ot.item())
    assert close(v.grad, t.grad.item()), (v.grad, t.grad.item())


def test_relu_at_zero_has_zero_gradient_like_torch():
    a = Value(0.5)
    r = (a - a).relu()
    r.backward()
    assert r.data == 0.0 and a.grad == 0.0


def test_sigmoid_is_stable_far_from_zero():
    lo, hi = Value(-800.0).sigmoid(), Value(800.0).sigmoid()
    assert lo.data == 0.0 and hi.data == 1.0


# ---------------------------------------------------------------------------------------------------
# Random expression graphs (hypothesis): the same program runs on Values and on torch float64 tensors


def _guarded(op: str, a, b):
    """Each op written so that its operands stay in the op's domain (both Value and torch.Tensor)."""
    return {
        "add": lambda: a + b,
        "sub": lambda: a - b,
        "mul": lambda: a * b,
        "div": lambda: a / (b * b + 0.5),
        "pow": lambda: (a * a + 0.5) ** 1.7,
        "ipow": lambda: a**2,
        "neg": lambda: -a,
        "exp": lambda: a.tanh().exp(),
        "log": lambda: (a * a + 0.2).log(),
        "tanh": lambda: a.tanh(),
        "relu": lambda: a.relu(),
        "sigmoid": lambda: a.sigmoid(),
        "const": lambda: 1.5 * a - 0.25,
    }[op]()


OPS = ["add", "sub", "mul", "div", "pow", "ipow", "neg", "exp", "log", "tanh", "relu", "sigmoid", "const"]
program = st.tuples(
    st.lists(st.floats(-2, 2, allow_nan=False), min_size=1, max_size=4),
    st.lists(
        st.tuples(st.sampled_from(OPS), st.integers(0, 10**6), st.integers(0, 10**6)), min_size=1, max_size=25
    ),
)


def _run(leaves, steps):
    pool = list(leaves)
    for op, i, j in steps:
        pool.append(_guarded(op, pool[i % len(pool)], pool[j % len(pool)]))
    return pool[-1]


@settings(max_examples=150, deadline=None)
@given(program)
def test_random_graphs_match_torch_float64(prog):
    xs, steps = prog
    leaves = [Value(x) for x in xs]
    out = _run(leaves, steps)
    out.backward()
    tleaves = [torch.tensor(x, dtype=torch.float64, requires_grad=True) for x in xs]
    tout = _run(tleaves, steps)
    tout.backward()
    assert close(out.data, tout.item()), (out.data, tout.item())
    for v, t in zip(leaves, tleaves, strict=True):
        tg = 0.0 if t.grad is None else t.grad.item()
        assert close(v.grad, tg), (v.grad, tg)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(-3, 3), st.floats(-3, 3)), min_size=1, max_size=12), st.floats(-3, 3))
def test_fused_dot_and_sum_match_torch(pairs, bias):
    ws, xs, b = [Value(w) for w, _ in pairs], [Value(x) for _, x in pairs], Value(bias)
    d = Value.dot(ws, xs, b)
    r = Value.dot(xs, ws, b, relu=True)  # a neuron
    out = Value.sum([d.tanh(), d * d, *ws, r * 0.7]) + Value.dot(xs, xs)  # xs . xs: one operand used twice
    out.backward()
    wt = torch.tensor([w for w, _ in pairs], dtype=torch.float64, requires_grad=True)
    xt = torch.tensor([x for _, x in pairs], dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(bias, dtype=torch.float64, requires_grad=True)
    dt = wt @ xt + bt
    outt = dt.tanh() + dt * dt + wt.sum() + (xt @ wt + bt).relu() * 0.7 + xt @ xt
    outt.backward()
    assert close(out.data, outt.item())
    assert all(close(v.grad, g) for v, g in zip(ws, wt.grad.tolist(), strict=True))
    assert all(close(v.grad, g) for v, g in zip(xs, xt.grad.tolist(), strict=True))
    assert close(b.grad, bt.grad.item())


def test_dot_without_bias_and_with_numbers():
    w = [Value(2.0), Value(-1.0)]
    out = Value.dot(w, [3.0, 4.0])  # numbers are constants, not operands
    out.backward()
    assert out.data == 2.0 and [v.grad for v in w] == [3.0, 4.0] and len(out._prev) == 2
    alive, dead = Value.dot(w, [3.0, 4.0], 1.0, relu=True), Value.dot(w, [-3.0, 4.0], 1.0, relu=True)
    (alive + dead).backward()
    assert (alive.data, dead.data) == (3.0, 0.0) and [v.grad for v in w] == [3.0 + 3.0, 4.0 + 4.0]


def test_dead_relu_keeps_its_operands_for_drawing_but_passes_no_gradient():
    x = Value(-2.0, label="x")
    y = (x * 3.0).relu()
    y.backward()
    assert x.grad == 0.0
    assert "x | data -2.0000" in to_dot(y)  # the operand is still in the picture


# ---------------------------------------------------------------------------------------------------
# Deep graphs, accumulation, errors


def test_chain_of_100k_ops_backpropagates_without_recursion():
    assert sys.getrecursionlimit() < 100_000  # the default limit is what the iterative sort must live with
    x = Value(1.0)
    y = x
    for _ in range(100_000):
        y = y * 1.00001
    y.backward()
    assert math.isclose(x.grad, 1.00001**100_000, rel_tol=1e-9)  # y = x c^n, so dy/dx = c^n
    assert math.isclose(y.data, 1.00001**100_000, rel_tol=1e-9)


def test_gradients_accumulate_over_two_backward_calls_like_torch():
    x = Value(3.0)
    (x * x).backward()
    (x * x).backward()
    assert x.grad == 12.0


def test_division_by_zero_is_a_clear_error():
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        Value(1.0) / Value(0.0)
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        1.0 / Value(0.0)
    with pytest.raises(ZeroDivisionError, match="negative power"):
        Value(0.0) ** -1


@pytest.mark.parametrize("x", [0.0, -1.0])
def test_log_of_non_positive_is_a_clear_error(x):
    with pytest.raises(ValueError, match=r"log\(.*positive"):
        Value(x).log()


@pytest.mark.parametrize("bad", ["2", None, [1.0], 1 + 2j, True])
def test_non_number_operand_is_a_type_error_naming_it(bad):
    with pytest.raises(TypeError, match="real number"):
        Value(1.0) + bad
    with pytest.raises(TypeError, match="real number"):
        Value(bad)


def test_pow_rules():
    with pytest.raises(TypeError, match="exponent must be a number"):
        Value(2.0) ** Value(2.0)
    with pytest.raises(ValueError, match="non-integer power"):
        Value(-2.0) ** 0.5
    with pytest.raises(ValueError, match="base must be positive"):
        (-2.0) ** Value(1.0)
    assert (Value(-2.0) ** 3).data == -8.0
    for k in (0.0, 0.5, 1.0, 2.0):  # at zero, like torch: slopes 0, inf, 1, 0
        x, xt = Value(0.0), torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
        (x**k).backward()
        (xt**k).backward()
        assert x.grad == xt.grad.item(), (k, x.grad, xt.grad.item())


def test_exp_overflow_names_the_value():
    with pytest.raises(OverflowError, match=r"exp\(1000"):
        Value(1000.0).exp()


def test_numpy_scalars_become_floats():
    import numpy as np

    v = Value(np.float32(1.5)) * np.float64(2.0)
    assert type(v.data) is float and v.data == 3.0


def test_gc_paused_restores_the_collector_state():
    import gc

    from nanozoo.autograd import gc_paused

    assert gc.isenabled()
    with gc_paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    gc.disable()
    try:
        with gc_paused():
            pass
        assert not gc.isenabled()  # it was off before: it stays off
    finally:
        gc.enable()
