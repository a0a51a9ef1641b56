"""The ``serve`` command: the trainer's explorer on a local port."""

from __future__ import annotations


import click

from reasoner.cli.common import guarded

__all__ = ["serve_cmd"]

# ---- the trainer's explorer ---------------------------------------------------------


@click.command("serve")
@click.argument("scenario", type=click.Path(dir_okay=False), required=False)
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to listen on. Anything but a loopback address shows the explorer "
                   "to your network.")
@click.option("--port", type=click.IntRange(0, 65535), default=8765, show_default=True,
              help="Port to listen on (0 picks a free one).")
@click.option("--max-body", type=click.IntRange(min=1024), default=1 << 20, show_default=True,
              help="Largest request body accepted, in bytes.")
@click.option("--log", "log_requests", is_flag=True, help="Print one line per request to stderr.")
def serve_cmd(scenario: str | None, host: str, port: int, max_body: int,
              log_requests: bool) -> None:
    """Start the trainer's explorer: a local web page to edit SCENARIO's facts and watch
    the decisions, the proof and the rules that fired change.

    Without SCENARIO it starts from facts/scenarios/aia-tier1.yaml (or a small
    template). Every edit is validated as a scenario file is, then decided again;
    proof steps new since the last decision are highlighted. Stop with Ctrl-C.

    \b
    Examples:
      earlog serve
      earlog serve facts/scenarios/tier3-links.yaml --port 8080
    """
    guarded(_serve)(scenario, host, port, max_body, log_requests)


def _serve(scenario: str | None, host: str, port: int, max_body: int, log_requests: bool) -> None:
    from reasoner.web.explorer import Explorer
    from reasoner.web.server import make_server, run

    explorer = Explorer.from_path(scenario)
    explorer.warm()
    log = (lambda line: click.echo(line, err=True)) if log_requests else None
    server = make_server(explorer, host, port, max_body, log)
    if not server.loopback:
        click.echo(f"warning: listening on {host}: anyone who can reach this machine can use "
                   "the explorer", err=True)
    click.echo(f"earlog explorer: {server.url}  (Ctrl-C to stop)")
    run(server)
    click.echo("earlog explorer: stopped", err=True)
