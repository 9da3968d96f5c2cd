"""`evalkit serve`: serve a trained probe (or any .keras classifier) through MLServer."""
from __future__ import annotations

import signal
from pathlib import Path
from typing import Optional

import typer

from .common import WorkspaceOption, parse_name_list


def register(app: typer.Typer) -> None:
    """Add `evalkit serve` to the app."""

    @app.command("serve")
    def serve(
        probe: Optional[str] = typer.Option(
            None, "--probe", help="Trained probe NAME/SEED from the workspace, e.g. control/0."),
        model: Optional[Path] = typer.Option(
            None, "--model", help="Any Keras model file (.keras) instead of a probe."),
        class_names: Optional[str] = typer.Option(
            None, "--class-names", help="Comma-separated class names for --model "
                                        "(default: CIFAR-10's)."),
        name: Optional[str] = typer.Option(
            None, "--name", help="Model name in the URLs (default: PROBE-seedSEED or file stem)."),
        workspace: Optional[Path] = WorkspaceOption,
        host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
        port: int = typer.Option(8080, "--port", help="HTTP port (0 = any free port)."),
        startup_timeout: float = typer.Option(
            180.0, "--startup-timeout", help="Seconds to wait for the server to be ready."),
    ) -> None:
        """Serve a model on HOST:PORT (v2 Open Inference + v1 TF-Serving REST) until Ctrl-C."""
        from ..errors import UserError
        from ..serving import ModelServer, model_file_spec, probe_spec

        if (probe is None) == (model is None):
            raise UserError("give exactly one of --probe NAME/SEED or --model PATH.keras")
        if probe is not None:
            if class_names:
                raise UserError("--class-names goes with --model; a probe's classes come "
                                "from its meta.json")
            from ..workspace import Workspace

            spec = probe_spec(Workspace.from_option(workspace), probe, name)
        else:
            spec = model_file_spec(model, parse_name_list(class_names), name)

        server = ModelServer(spec, host=host, port=port, startup_timeout=startup_timeout)
        typer.echo(f"starting MLServer for {spec.description} ({spec.path}) ...")
        previous = signal.signal(signal.SIGTERM, _raise_keyboard_interrupt)
        try:
            served = server.start()
            typer.echo(f"model '{served.model_name}' ready in {served.startup_seconds:.1f} s "
                       f"at {served.url}")
            typer.echo(f"  v2 (Open Inference): POST {served.infer_url}")
            typer.echo(f"  v1 (TF-Serving):     POST {served.v1_predict_url}")
            typer.echo(f"  classes: {', '.join(served.class_names)}")
            typer.echo(f"  server pid {served.pid}, log: {served.log_path}")
            typer.echo("press Ctrl-C to stop", err=True)
            code = server.wait()
            server.stop(keep_log=True)
            raise UserError(f"model server stopped unexpectedly (exit code {code}); "
                            f"see {served.log_path}")
        except KeyboardInterrupt:
            typer.echo("stopping the model server ...", err=True)
        finally:
            signal.signal(signal.SIGTERM, previous)
            server.stop()
        typer.echo("stopped", err=True)


def _raise_keyboard_interrupt(signum, frame) -> None:
    raise KeyboardInterrupt
