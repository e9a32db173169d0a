"""The ``credo`` command line (Typer + Rich)."""
