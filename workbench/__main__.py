"""``python -m workbench``: the same command line as the ``workbench`` console script."""

from workbench.cli.main import main

main()
