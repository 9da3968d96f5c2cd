"""The `evalkit` command. User mistakes print one line and exit 2, never a traceback."""
from __future__ import annotations

import importlib
import os
import sys

# TensorFlow's C++ start-up chatter (CUDA probing, CPU features) is noise for CLI users;
# errors still show. Set before TensorFlow is imported; worker processes inherit it.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import typer
from typer._click import exceptions as click_exc  # typer >= 0.23 vendors click

from ..version import __version__
from ..errors import UserError

app = typer.Typer(
    name="evalkit", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Find out what a black-box image classifier relies on.")

# One module per pipeline stage; each defines register(app).
COMMAND_MODULES = ("data", "sample", "probes", "discover", "explain", "score", "serve", "fingerprint",
                   "report", "run")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evalkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit.")) -> None:
    """Find out what a black-box image classifier relies on."""


for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.cmd_{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    try:
        app(args=argv, standalone_mode=False)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except typer.Abort:
        print("aborted", file=sys.stderr)
        sys.exit(130)
    except click_exc.ClickException as exc:  # bad option, missing argument, ...
        msg = " ".join(exc.format_message().split())
        ctx = getattr(exc, "ctx", None)
        where = f" (see '{ctx.command_path} --help')" if ctx is not None else ""
        print(f"error: {msg}{where}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        print("interrupted; re-run the same command to resume", file=sys.stderr)
        sys.exit(130)
