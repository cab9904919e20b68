"""The ``workbench`` command line (typer + rich) over the :mod:`core` engine."""
