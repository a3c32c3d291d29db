"""Drawing micrograd graphs: DOT text, rendering (with and without Graphviz), expressions, the CLI."""

import shutil

import pytest

from nanozoo.autograd import Value
from nanozoo.autograd.graph import evaluate, labelled, render, to_dot


def test_to_dot_has_data_grad_and_op_of_every_node():
    a, b = Value(2.0, label="a"), Value(-3.0, label="b")
    c = a * b
    c.label = "c"
    c.backward()
    src = to_dot(c)
    assert src.startswith("digraph") and src.rstrip().endswith("}")
    assert "a | data 2.0000 | grad -3.0000" in src
    assert "b | data -3.0000 | grad 2.0000" in src
    assert "c | data -6.0000 | grad 1.0000" in src
    assert src.count("shape=oval") == 1 and 'label="*"' in src
    assert src.count("->") == 3  # a -> op, b -> op, op -> c


def test_to_dot_refuses_huge_graphs_and_bad_rankdir():
    x = Value(1.0)
    for _ in range(50):
        x = x + 1.0
    with pytest.raises(ValueError, match="max_nodes=10"):
        to_dot(x, max_nodes=10)
    with pytest.raises(ValueError, match="rankdir='XY'"):
        to_dot(x, rankdir="XY")


def test_evaluate_builds_the_graph_of_a_formula():
    # the neuron of the micrograd lecture: tanh(x1 w1 + x2 w2 + b) = tanh(0.8814) = 1/sqrt(2)
    out = evaluate("tanh(x1*w1 + x2*w2 + b)", {"x1": 2, "x2": 0, "w1": -3, "w2": 1, "b": 6.8813735870195432})
    out.backward()
    leaves = labelled(out)
    assert abs(out.data - 2**-0.5) < 1e-9
    assert abs(leaves["x1"].grad - (-1.5)) < 1e-9 and abs(leaves["w2"].grad) < 1e-12
    assert evaluate("-x ** 2 + x.exp() / 2", {"x": 0.0}).data == 0.5


@pytest.mark.parametrize(
    "expr, match",
    [
        ("x +", "cannot parse"),
        ("y * 2", "unknown variable 'y'"),
        ("__import__('os')", "unsupported syntax"),
        ("x.mro()", "unsupported syntax"),
        ("2 * 3", "no variable"),
    ],
)
def test_evaluate_refuses_bad_expressions(expr, match):
    with pytest.raises(ValueError, match=match):
        evaluate(expr, {"x": 1.0})


def test_render_writes_dot_source_without_graphviz(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    src = to_dot(Value(1.0) * 2)
    assert render(src, tmp_path / "g.dot").read_text() == src
    with pytest.raises(FileNotFoundError, match="apt-get install graphviz"):
        render(src, tmp_path / "g.svg")
    with pytest.raises(ValueError, match="suffix"):
        render(src, tmp_path / "g.jpg")


@pytest.mark.skipif(shutil.which("dot") is None, reason="the Graphviz dot program is not installed")
def test_render_svg_with_graphviz(tmp_path):
    out = render(to_dot(Value(1.0, label="x") * 2), tmp_path / "g.svg")
    assert "<svg" in out.read_text() and ">x<" in out.read_text()


def test_cli_graph_writes_dot_and_reports_errors_in_one_line(tmp_path, capsys):
    from nanozoo.cli import main

    out = tmp_path / "g.dot"
    main(["autograd", "graph", "x*w + b", "--var", "x=2", "-v", "w=3", "-v", "b=1", "-o", str(out)])
    assert "d/dx = 3" in capsys.readouterr().out and "digraph" in out.read_text()
    with pytest.raises(SystemExit) as e:
        main(["autograd", "graph", "x*y", "--var", "x=2", "-o", str(out)])
    err = capsys.readouterr().err
    assert e.value.code == 1 and err.startswith("error: unknown variable 'y'") and err.count("\n") == 1
