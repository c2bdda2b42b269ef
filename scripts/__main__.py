"""``python -m hetserve.cli``: the same click group as the ``hetserve`` console script."""

from hetserve.cli.main import main

main()
