"""`nanozoo autograd graph EXPR --var x=2 -o graph.svg`: draw the micrograd graph of a formula."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo.cli import app
from nanozoo.core.errors import UserError

autograd_app = typer.Typer(no_args_is_help=True, help="micrograd: draw the graph of a scalar expression.")
app.add_typer(autograd_app, name="autograd")


@autograd_app.command()
def graph(
    expr: str = typer.Argument(..., help='a formula, e.g. "tanh(x1*w1 + x2*w2 + b)"'),
    var: list[str] = typer.Option([], "--var", "-v", help="a variable's value: NAME=NUMBER (repeat)"),
    out: Path = typer.Option(Path("graph.svg"), "--out", "-o", help="output: .svg, .png, .pdf or .dot"),
    no_backward: bool = typer.Option(False, "--no-backward", help="draw before backward (all grads 0)"),
) -> None:
    """Build EXPR as a graph of Values, backpropagate, and draw data, grad and op of every node."""
    from nanozoo.autograd.graph import evaluate, labelled, render, to_dot

    variables = {}
    for v in var:
        name, sep, value = v.partition("=")
        try:
            variables[name.strip()] = float(value)
        except ValueError:
            raise UserError(f"--var {v!r}: expected NAME=NUMBER, e.g. --var x=2.0") from None
        if not sep or not name.strip().isidentifier():
            raise UserError(f"--var {v!r}: expected NAME=NUMBER, e.g. --var x=2.0")
    # autograd stands alone (no nanozoo imports), so its refusals are builtins: the user's formula and
    # output file are the boundary where they become UserErrors
    try:
        root = evaluate(expr, variables)
        if not no_backward:
            root.backward()
        path = render(to_dot(root), out)
    except (ValueError, FileNotFoundError) as e:
        raise UserError(str(e)) from e
    print(f"{expr} = {root.data:.6g}")
    for name, leaf in sorted(labelled(root).items()):
        print(f"  d/d{name} = {leaf.grad:.6g}")
    print(f"wrote {path}")
