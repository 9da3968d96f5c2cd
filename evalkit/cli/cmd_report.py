"""CLI commands of the 'report' stage (not implemented yet)."""
import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
