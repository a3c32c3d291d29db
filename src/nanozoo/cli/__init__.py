"""The `nanozoo` command line (typer): thin, it parses arguments, calls the library and prints.

One module per command group; each adds its commands to `app`. A module imports torch, the models and the
experiment code only inside the commands that need them, so `nanozoo --help`, `list` and `data list` start
in a fraction of a second (benchmarks/bench_cli.py).

How it ends (DESIGN.md, Conventions): a usage mistake (unknown option, missing argument, a value of the
wrong type) prints click's usage line and exits 2; a `UserError` (bad config, missing data, corrupt
checkpoint, unknown experiment ...) prints one line `error: ...` on stderr and exits 1; any other exception
is a bug and keeps its traceback.
"""

from __future__ import annotations

import logging
import os
import sys

# NOTE: typer is pinned at 0.25, the last release over the real click: later ones vendor their own click
# (whose exceptions are not click's), and 0.29 imports pydantic to parse any option (0.13 s of a 0.3 s start).
import click
import typer

from nanozoo.core.errors import UserError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # click's plain help: flags without a `<bool>` metavar, and no rich import
    context_settings={"help_option_names": ["-h", "--help"]},
    help="nanozoo: machine learning built from first principles.",
)


def _version(value: bool) -> None:
    if value:
        from nanozoo import __version__

        print(f"nanozoo {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """nanozoo: machine learning built from first principles."""


def _register_commands() -> None:
    from nanozoo.cli import (  # noqa: F401  (each adds its commands to app)
        autograd,
        bert,
        data,
        diagnostics,
        experiments,
        export,
        recsys,
        search,
        sweep,
        tokenizer,
        translate,
    )


def main(argv: list[str] | None = None) -> None:
    """The console script. Returns on success; otherwise exits: 2 for a usage mistake, 1 for a UserError,
    130 for Ctrl-C (a run's own code, e.g. 130/143 for a stopped run, passes through)."""
    logging.basicConfig(level=os.environ.get("NANOZOO_LOG", "INFO"), format="%(message)s")
    _register_commands()
    args = sys.argv[1:] if argv is None else list(argv)
    try:
        rc = app(args=args, prog_name="nanozoo", standalone_mode=False)  # returns a typer.Exit's code
    except UserError as e:
        if os.environ.get("NANOZOO_DEBUG"):
            raise
        print(f"error: {str(e).splitlines()[0] if str(e) else type(e).__name__}", file=sys.stderr)
        sys.exit(1)
    except OSError as e:
        # a path the user named that cannot be made or written (`--runs FILE`, `--out /proc/x`); an OSError
        # without a file name is not about the user's paths and keeps its traceback
        if e.filename is None or os.environ.get("NANOZOO_DEBUG"):
            raise
        print(f"error: {e.filename}: {e.strerror or e}", file=sys.stderr)
        sys.exit(1)
    except click.exceptions.Abort:  # Ctrl-C outside a run (a run checkpoints and returns its own code)
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except click.ClickException as e:  # a usage mistake
        if getattr(e, "ctx", "") is None:  # a few parser errors carry no context: say whose usage it is
            print(_usage(args), file=sys.stderr)
        e.show()
        sys.exit(e.exit_code)
    if isinstance(rc, int) and rc:
        sys.exit(rc)


def _usage(args: list[str]) -> str:
    """The usage line of the deepest command named in `args`."""
    cmd, path = typer.main.get_command(app), ["nanozoo"]
    for a in args:
        sub = getattr(cmd, "commands", {}).get(a)
        if sub is None:
            break
        cmd, path = sub, [*path, a]
    ctx = cmd.context_class(cmd, info_name=" ".join(path))
    return f"{ctx.get_usage()}\nTry '{' '.join(path)} -h' for help.\n"
