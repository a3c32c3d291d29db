"""The `nanozoo` command line (typer): thin, it parses arguments, calls the library and prints.

One module per command group; each adds its commands to `app`. A mistake a user can make (bad config,
missing data, corrupt checkpoint, unknown experiment) is printed as one line on stderr with exit code 1;
set NANOZOO_DEBUG=1 for the traceback.
"""

from __future__ import annotations

import logging
import os
import sys

import click
import typer

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="nanozoo: machine learning built from first principles.",
)

# Errors a user can cause; anything else is a bug and keeps its traceback.
USER_ERRORS = (ValueError, KeyError, TypeError, FileNotFoundError, NotADirectoryError, PermissionError)


def _register_commands() -> None:
    from nanozoo.cli import autograd, data, diagnostics, experiments, sweep, tokenizer  # noqa: F401  (each adds its commands to app)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=os.environ.get("NANOZOO_LOG", "INFO"), format="%(message)s")
    _register_commands()
    from nanozoo.data import DataError

    try:
        rc = app(args=argv, standalone_mode=False)  # without standalone mode click returns Exit's code
        if isinstance(rc, int) and rc:
            sys.exit(rc)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except (DataError, *USER_ERRORS) as e:
        if os.environ.get("NANOZOO_DEBUG"):
            raise
        msg = e.args[0] if isinstance(e, KeyError) and e.args else str(e)
        print(f"error: {msg}".splitlines()[0] if "\n" in str(msg) else f"error: {msg}", file=sys.stderr)
        sys.exit(1)
