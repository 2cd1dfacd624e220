"""Command-line interface: ``mdfloss`` or ``python -m mdfloss``.

One click group; each command group lives in its own module as module-level click
commands (:mod:`.loss`, :mod:`.analysis`, :mod:`.phase1`, :mod:`.restoration`, :mod:`.study`,
:mod:`.study_plan`, :mod:`.data`; shared parsing in :mod:`.options`), added here. Every user
mistake ends as one line on stderr and exit status 2; nothing is written on failure.
"""

from __future__ import annotations

import sys

import click

from mdfloss.cli.analysis import calibrate
from mdfloss.cli.data import data
from mdfloss.cli.loss import compare, convert_reference_cmd, info
from mdfloss.cli.phase1 import train
from mdfloss.cli.restoration import benchmark, evaluate_cmd, train_restorer_cmd
from mdfloss.cli.restore import restore
from mdfloss.cli.study import study
from mdfloss.common.errors import MDFError

EXIT_USER_ERROR = 2


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="mdfloss")
def cli() -> None:
    """Train and use task-specific image reconstruction losses (MDF)."""


for _command in (info, compare, convert_reference_cmd, calibrate, train, train_restorer_cmd, evaluate_cmd, restore,
                 benchmark, study, data):
    cli.add_command(_command)


def main(argv: list[str] | None = None) -> int:
    try:
        status = cli.main(args=argv, prog_name="mdfloss", standalone_mode=False)
        if isinstance(status, int) and not isinstance(status, bool):  # a command's ctx.exit(N)
            return status
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        return 130
    except click.UsageError as exc:
        cmd = exc.ctx.command_path if exc.ctx else "mdfloss"
        click.echo(f"{cmd}: error: {exc.format_message()} (see '{cmd} --help')", err=True)
        return EXIT_USER_ERROR
    except click.ClickException as exc:
        click.echo(f"mdfloss: error: {exc.format_message()}", err=True)
        return EXIT_USER_ERROR
    except MDFError as exc:
        click.echo(f"mdfloss: error: {exc}", err=True)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
