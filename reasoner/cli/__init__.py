"""The ``earlog`` command: the only place that prints, reads argv and sets exit codes.

One module per command group; ``common`` holds what they share. Errors of the
``EarlogError`` family are caught here only, at the edge, and printed like a compiler.

May import: every layer below (``lang``, ``engine``, ``law``, ``proof``, ``render``,
``tools``, ``web``).
"""

from __future__ import annotations

import click

from reasoner.cli.language import check_cmd, query_cmd, rules_cmd
from reasoner.cli.decide import decide_cmd
from reasoner.cli.proofs import why_cmd, why_not_cmd, explain_cmd
from reasoner.cli.memo import memo_cmd
from reasoner.cli.analysis import what_if_cmd, diff_cmd
from reasoner.cli.screen import screen_cmd
from reasoner.cli.serve import serve_cmd
from reasoner.cli.testing import test_cmd
from reasoner.cli.interview import interview_cmd
from reasoner.version import __version__

__all__ = ["main", "cli"]


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="earlog")
def cli() -> None:
    """earlog: a Datalog legal reasoner for the EAR's AI Diffusion rule (90 FR 4544).

    Decide whether exports of advanced AI chips and model weights need a license,
    which exceptions apply and why, with pinpoint CFR citations on every step.
    """


cli.add_command(check_cmd)
cli.add_command(query_cmd)
cli.add_command(rules_cmd)
cli.add_command(decide_cmd)
cli.add_command(why_cmd)
cli.add_command(why_not_cmd)
cli.add_command(explain_cmd)
cli.add_command(memo_cmd)
cli.add_command(what_if_cmd)
cli.add_command(diff_cmd)
cli.add_command(screen_cmd)
cli.add_command(serve_cmd)
cli.add_command(test_cmd)
cli.add_command(interview_cmd)


def main() -> None:
    """Console entry point."""
    cli(prog_name="earlog")
