"""Thin typer CLI over the library: one module per stage registers its commands."""
