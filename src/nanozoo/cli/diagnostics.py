"""`nanozoo diagnostics init --init bad|kaiming [--batchnorm]`, `nanozoo diagnostics residual`: pictures."""

from __future__ import annotations

from pathlib import Path

import typer

from nanozoo.cli import app

group = typer.Typer(
    no_args_is_help=True, help="activation/gradient/update-ratio pictures of deep MLPs on names"
)
app.add_typer(group, name="diagnostics")


@group.command("init")
def init_(
    init: str = typer.Option(
        "kaiming", help="kaiming ((5/3)/sqrt(fan_in)), bad (N(0, 1): saturates) or torch"
    ),
    batchnorm: bool = typer.Option(False, "--batchnorm", help="BatchNorm after every hidden Linear"),
    steps: int = typer.Option(1000, help="SGD steps for the update-to-data ratio"),
    out: Path = typer.Option(None, help="folder for the pictures (default runs/diagnostics/INIT[-bn])"),
    data_dir: Path = typer.Option(None, help="look for data files here first"),
) -> None:
    """The lecture's 5-layer tanh MLP: activation and gradient histograms, update-to-data ratios."""
    from nanozoo.experiments import diagnostics as diag

    out = out or Path("runs") / "diagnostics" / (init + ("-bn" if batchnorm else ""))
    s = diag.init_diagnostics(init, batchnorm, steps=steps, data_dir=data_dir, out_dir=out)
    for i, (std, sat, ud) in enumerate(zip(s["act_std"], s["saturation"], s["update_ratio"], strict=True), 1):
        print(f"layer {i}: tanh std {std:.2f}  saturated {sat:6.1%}  log10 update/data {ud:+.2f}")
    print(
        f"loss {s['first_loss']:.3f} -> {s['last_loss']:.3f}; pictures in {out}: activations.png, "
        "gradients.png, update_ratio.png"
    )


@group.command("residual")
def residual(
    n_layer: int = typer.Option(20, "--n-layer"),
    steps: int = typer.Option(200, help="SGD steps"),
    out: Path = typer.Option(None, help="folder for residual.png (default runs/diagnostics/residual)"),
    data_dir: Path = typer.Option(None, help="look for data files here first"),
) -> None:
    """Plain vs residual deep tanh MLP: gradient norm per layer and at the first layer over training."""
    from nanozoo.experiments import diagnostics as diag

    out = out or Path("runs") / "diagnostics" / "residual"
    r = diag.residual_diagnostics(n_layer=n_layer, steps=steps, data_dir=data_dir, out_dir=out)
    for key, v in r.items():
        print(
            f"{key:8s}: layer-1 gradient norm at init {v['grad_norm_per_layer'][0]:.2e}, "
            f"final loss {v['last_loss']:.3f}"
        )
    print(f"picture: {out / 'residual.png'}")
