"""``itsm serve`` and ``itsm portal-token``."""

from __future__ import annotations

import click


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port to listen on.")
@click.option("--proxy-headers", is_flag=True, help="Trust X-Forwarded-* from the proxy in front (for https).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, proxy_headers: bool) -> None:
    """Serve the self-service portal, the service desk pages and the JSON API with uvicorn."""
    import uvicorn

    from .app import create_app

    app = create_app(ctx.obj.get("config") if ctx.obj else None)
    click.echo(f"portal on http://{host}:{port}/ (Ctrl+C to stop)", err=True)
    uvicorn.run(app, host=host, port=port, proxy_headers=proxy_headers, log_level="info")


@click.command("portal-token")
@click.argument("name")
def portal_token(name: str) -> None:
    """Make an API token for an integration NAME: prints the token once, and the line for the tokens file."""
    from .security import hash_token, new_token

    token = new_token()
    click.echo(f"token (give it to the integration, it is not stored): {token}")
    click.echo(f"line for api_tokens_file: {name}:sha256:{hash_token(token)}")
