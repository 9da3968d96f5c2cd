"""CLI commands of the 'explain' stage (not implemented yet)."""
import typer


def register(app: typer.Typer) -> None:
    """Add this stage's commands to the app."""
