"""The `evalkit` command. User mistakes print one line and exit 2, never a traceback."""
from __future__ import annotations

import importlib
import os
import sys
from pathlib import Path
from typing import List, Optional

import typer
from typer._click import exceptions as click_exc  # typer >= 0.23 vendors click

from ..version import __version__
from ..errors import UserError
from ..quiet import quiet_tensorflow

app = typer.Typer(
    name="evalkit", no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False,
    help="Find out what a black-box image classifier relies on.")

# One module per pipeline stage; each defines register(app).
COMMAND_MODULES = ("data", "sample", "probes", "discover", "explain", "score", "serve", "fingerprint",
                   "runs", "report", "run")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"evalkit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                       help="Show the version and exit."),
          verbose: bool = typer.Option(False, "--verbose", "-v",
                                       help="Show TensorFlow's and absl's start-up and log messages."),
          probes_dir: Optional[List[Path]] = typer.Option(
              None, "--probes-dir", help="Folder of extra probe files (*.toml) that add to or override the "
              "built-in probes (repeatable; also $EVALKIT_PROBES).")) -> None:
    """Find out what a black-box image classifier relies on."""
    for d in probes_dir or []:
        if not d.is_dir():
            raise UserError(f"--probes-dir {d}: expected an existing folder of probe files (*.toml)")
        from ..probes.spec import PROBES_ENV  # env, so worker processes and servers see it too

        os.environ[PROBES_ENV] = os.pathsep.join(
            p for p in (os.environ.get(PROBES_ENV), str(d.resolve())) if p)




for _name in COMMAND_MODULES:
    importlib.import_module(f"{__package__}.cmd_{_name}").register(app)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    args = sys.argv[1:] if argv is None else list(argv)
    quiet_tensorflow(verbose=_root_flag(args, "--verbose", "-v"))
    try:
        app(args=args, standalone_mode=False)
    except UserError as exc:
        from ..textsafe import one_line  # messages may quote server text or file contents

        print(f"error: {one_line(exc)}", file=sys.stderr)
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


def _root_flag(args: list[str], *names: str) -> bool:
    """Whether a root option (given before the command name) is among the arguments."""
    takes_value = False
    for arg in args:
        if arg in names:
            return True
        if not arg.startswith("-") and not takes_value:
            return False  # the command name: later options belong to the command
        takes_value = arg == "--probes-dir"
    return False
