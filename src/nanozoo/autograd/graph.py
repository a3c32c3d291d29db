"""Drawing a micrograd graph: Graphviz source, rendering with the `dot` program, and small expressions.

Reference: the `draw_dot` helper of karpathy/micrograd's `trace_graph.ipynb` (which uses the graphviz
Python package); ours writes the DOT text itself, so drawing needs only the `dot` program, and only to
turn that text into a picture. `evaluate("tanh(x*w + b)", {"x": 2, ...})` builds a graph from a formula
without `eval`: the parser accepts numbers, variables, + - * / **, unary minus and the Value functions.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
from pathlib import Path

from nanozoo.autograd.engine import Value

FUNCTIONS = ("exp", "log", "tanh", "relu", "sigmoid")
FORMATS = ("svg", "png", "pdf", "dot")


# ---------------------------------------------------------------------------------------------------
# Graphviz source


def _quote(s: str) -> str:
    return (
        s.replace("\\", "\\\\")
        .replace('"', '\\"')
        .replace("{", "\\{")
        .replace("}", "\\}")
        .replace("|", "\\|")
    )


def to_dot(root: Value, rankdir: str = "LR", max_nodes: int = 2000) -> str:
    """DOT text: a record per value (label | data | grad) and an oval per op, operands pointing into ops."""
    if rankdir not in ("LR", "TB"):
        raise ValueError(f"rankdir={rankdir!r}: expected 'LR' or 'TB'")
    nodes, seen, stack = [], {root}, [root]
    while stack:  # iterative, like backward: deep graphs draw too
        v = stack.pop()
        nodes.append(v)
        if len(nodes) > max_nodes:
            raise ValueError(f"the graph has more than max_nodes={max_nodes} values; too big to draw")
        for c in v._prev:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    lines = ["digraph micrograd {", f"  rankdir={rankdir};", '  node [fontname="monospace"];']
    for v in sorted(nodes, key=lambda n: n._id):
        name = f"v{v._id}"
        label = _quote(v.label) + " | " if v.label else ""
        lines.append(f'  {name} [shape=record, label="{{ {label}data {v.data:.4f} | grad {v.grad:.4f} }}"];')
        if v._prev:
            lines.append(f'  {name}_op [shape=oval, label="{_quote(v._op)}"];')
            lines.append(f"  {name}_op -> {name};")
            for c in v._prev:
                lines.append(f"  v{c._id} -> {name}_op;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def render(dot_source: str, out: str | Path) -> Path:
    """Write `out` (.svg, .png, .pdf with the `dot` program; .dot: the source itself)."""
    out = Path(out)
    fmt = out.suffix.lstrip(".").lower()
    if fmt not in FORMATS:
        raise ValueError(
            f"output {str(out)!r}: the suffix must be one of {', '.join('.' + f for f in FORMATS)}"
        )
    if fmt == "dot":
        out.write_text(dot_source)
        return out
    exe = shutil.which("dot")
    if exe is None:
        raise FileNotFoundError(
            "the Graphviz `dot` program is not installed: `apt-get install graphviz` "
            "(or `brew install graphviz`),"
            " or write the source with -o graph.dot"
        )
    proc = subprocess.run([exe, f"-T{fmt}", "-o", str(out)], input=dot_source.encode(), capture_output=True)
    if proc.returncode != 0:
        raise ValueError(f"dot failed: {proc.stderr.decode(errors='replace').strip()}")
    return out


def labelled(root: Value) -> dict[str, Value]:
    """The values with a label in the graph behind `root` (the named variables of an expression)."""
    seen, stack, out = {root}, [root], {}
    while stack:
        v = stack.pop()
        if v.label:
            out[v.label] = v
        for c in v._prev:
            if c not in seen:
                seen.add(c)
                stack.append(c)
    return out


# ---------------------------------------------------------------------------------------------------
# Expressions


_BINOPS = {
    ast.Add: lambda a, b: a + b,
    ast.Sub: lambda a, b: a - b,
    ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b,
}


def evaluate(expr: str, variables: dict[str, float]) -> Value:
    """Build the graph of `expr` (e.g. "tanh(x1*w1 + x2*w2 + b)") with leaves labelled by variable name."""
    try:
        tree = ast.parse(expr, mode="eval")
    except SyntaxError as e:
        raise ValueError(f"cannot parse expression {expr!r}: {e.msg}") from None
    leaves = {name: Value(v, label=name) for name, v in variables.items()}
    out = _eval(tree.body, leaves, expr)
    if not isinstance(out, Value):
        raise ValueError(f"expression {expr!r} has no variable in it; give one with --var NAME=VALUE")
    return out


def _eval(node: ast.AST, leaves: dict[str, Value], expr: str) -> Value | float:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, (int, float))
        and not isinstance(node.value, bool)
    ):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in leaves:
            known = ", ".join(sorted(leaves)) or "none"
            raise ValueError(
                f"unknown variable {node.id!r} in {expr!r}; set it with --var {node.id}=VALUE (set: {known})"
            )
        return leaves[node.id]
    if isinstance(node, ast.BinOp) and type(node.op) in _BINOPS:
        return _BINOPS[type(node.op)](_eval(node.left, leaves, expr), _eval(node.right, leaves, expr))
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Pow):
        base, k = _eval(node.left, leaves, expr), _eval(node.right, leaves, expr)
        return base**k
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
        v = _eval(node.operand, leaves, expr)
        return -v if isinstance(node.op, ast.USub) else v
    if isinstance(node, ast.Call) and not node.keywords and len(node.args) == 1:
        fn = node.func.id if isinstance(node.func, ast.Name) else None
        if fn in FUNCTIONS:
            v = _eval(node.args[0], leaves, expr)
            return getattr(v, fn)() if isinstance(v, Value) else getattr(Value(v), fn)().data
    if (
        isinstance(node, ast.Call)
        and not node.args
        and not node.keywords
        and isinstance(node.func, ast.Attribute)
    ):
        if node.func.attr in FUNCTIONS:  # x.tanh()
            v = _eval(node.func.value, leaves, expr)
            return (
                getattr(v, node.func.attr)()
                if isinstance(v, Value)
                else getattr(Value(v), node.func.attr)().data
            )
    raise ValueError(
        f"unsupported syntax {ast.unparse(node)!r} in {expr!r}: use numbers, variables, + - * / **, "
        f"and {', '.join(FUNCTIONS)}"
    )


__all__ = ["FORMATS", "FUNCTIONS", "evaluate", "labelled", "render", "to_dot"]
