"""``itsm serve`` and ``itsm portal-token``."""

from __future__ import annotations

import os
from typing import Any

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--proxy-headers", is_flag=True, help="Trust X-Forwarded-* from the proxy in front (for https).")
@click.option(
    "--workers",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Web processes sharing the port; they share the database (and so sign-in limits and sessions).",
)
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, proxy_headers: bool, workers: int) -> None:
    """Serve the self-service portal, the service desk pages and the JSON API with uvicorn.

    Logs at INFO unless the global --log-level says otherwise; uvicorn's own lines (the
    access log included) go through the same handler, so every line of a request carries
    its request id, and the demand's id on a demand's pages.

    With ``--workers N`` uvicorn starts N processes, each building the app from
    ``itsm_portal.app:from_environment`` and logging the same way; this process checks
    the config, brings an empty database to the current schema and makes the secret
    first, so that the workers do not race to.
    """
    import uvicorn
    from itsmcore import configure_logging

    from .app import create_app

    obj = ctx.obj or {}
    level = obj.get("log_level") or "INFO"
    fmt = obj.get("log_format") or "text"
    configure_logging(level, fmt)
    # log_config=None: uvicorn keeps its hands off logging; its loggers propagate to ours.
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "proxy_headers": proxy_headers,
        "log_config": None,
        "log_level": level.lower(),
    }
    if workers == 1:
        app = create_app(obj.get("config"))
        click.echo(f"portal on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
        uvicorn.run(app, **options)
        return
    from itsmcore import Desk

    with Desk.open(obj.get("config")) as desk:
        desk.secret()
        config = desk.config.path
    # what the workers' factory reads (they are new processes: they inherit the environment)
    os.environ.update({"ITSM_CONFIG": str(config), "ITSM_LOG_LEVEL": level, "ITSM_LOG_FORMAT": fmt})
    click.echo(f"portal on http://{host}:{port}/ with {workers} worker processes (Ctrl+C to stop)", err=True)
    uvicorn.run("itsm_portal.app:from_environment", factory=True, workers=workers, **options)


@click.command("portal-token")
@click.argument("name")
def portal_token(name: str) -> None:
    """The older way to make an API token (prefer 'itsm api-token new NAME --scope ...'): a line for api_tokens_file.

    Prints the token once, and the line for the tokens file. Such a token has every scope
    but admin and no rate limit; tokens made with ``itsm api-token new`` are kept in the
    store, have the scopes they are given, a rate limit and a last-used time, and can be
    revoked on every process at once.
    """
    from .security import hash_token, new_token

    click.echo(
        "note: prefer 'itsm api-token new NAME --scope read --scope write' (scoped, revocable, kept in the store)",
        err=True,
    )
    token = new_token()
    click.echo(f"token (give it to the integration, it is not stored): {token}")
    click.echo(f"line for api_tokens_file: {name}:sha256:{hash_token(token)}")
