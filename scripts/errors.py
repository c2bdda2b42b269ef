"""Exit codes and the one-line bad-input error every ``hetserve`` command uses."""

from __future__ import annotations

from typing import IO, Any

import click

EXIT_BAD_INPUT = 2
EXIT_INFEASIBLE = 3
EXIT_NO_SOLUTION = 4


class BadInput(click.ClickException):
    """Bad input: printed as one line (``error: ...``), exit code 2."""

    exit_code = EXIT_BAD_INPUT

    def show(self, file: IO[Any] | None = None) -> None:
        click.echo(f"error: {self.message}", err=True)
