"""CLI commands of the 'sample' stage (not implemented yet)."""
import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
