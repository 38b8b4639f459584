"""``itsm api-token ...``: the API tokens of integrations, held hashed in the store."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import Any

import click

from .base import FORMAT, emit, open_desk

#: Kept in step with ``itsmcore.desk.tokens.SCOPES`` (a test says so); here so that ``--help`` loads no desk.
SCOPES = ("read", "write", "agent", "admin")


def _scopes(_ctx: click.Context, _param: click.Parameter, value: Sequence[str]) -> tuple[str, ...]:
    """Each ``--scope`` known (a usage error, exit 2, naming the close one otherwise), split on commas too."""
    chosen: list[str] = []
    for item in value:
        for scope in (s.strip().lower() for s in item.split(",")):
            if not scope:
                continue
            if scope not in SCOPES:
                close = difflib.get_close_matches(scope, SCOPES, n=1, cutoff=0.5)
                hint = f"did you mean {close[0]!r}? " if close else ""
                raise click.BadParameter(f"unknown scope {scope!r}; {hint}Known: {', '.join(SCOPES)}")
            chosen.append(scope)
    if not chosen:
        raise click.BadParameter(f"give at least one scope: {', '.join(SCOPES)}")
    return tuple(chosen)


def _row(token: Any) -> dict[str, Any]:
    return {
        "name": token.name,
        "scopes": list(token.scopes),
        "state": "revoked" if token.revoked_at else "live",
        "created_at": token.created_at.isoformat(timespec="seconds"),
        "last_used_at": token.last_used_at.isoformat(timespec="seconds") if token.last_used_at else None,
        "revoked_at": token.revoked_at.isoformat(timespec="seconds") if token.revoked_at else None,
    }


@click.group("api-token")
def api_token() -> None:
    """API tokens for integrations of the JSON API (/api/v1): one per integration, with scopes.

    Scopes: read (every GET), write (submit demands, comment as the customer, confirm,
    survey, review), agent (advance, transitions, agents' comments, task milestones,
    announcements, hidden reviews), admin (everything, managing tokens too). The store
    keeps a hash of each token; a token is shown once, when made.
    """


@api_token.command("new")
@click.argument("name")
@click.option(
    "--scope",
    "scopes",
    multiple=True,
    required=True,
    callback=_scopes,
    help="What the token may do: read, write, agent or admin (repeat, or separate with commas).",
)
@click.pass_context
def api_token_new(ctx: click.Context, name: str, scopes: tuple[str, ...]) -> None:
    """Make an API token for the integration NAME and print it once (it is not kept, only its hash).

    NAME is recorded as the actor of what the integration does on a demand's journey. A
    live token's name cannot be given again: revoke it first to replace it.
    """
    token, secret = open_desk(ctx).new_api_token(name, scopes)
    click.echo(secret)
    click.echo(
        f"API token {token.name!r} made with scope(s) {', '.join(token.scopes)}: give it to the integration "
        "now (Authorization: Bearer TOKEN); it is not shown again",
        err=True,
    )


@api_token.command("list")
@click.option("--live", is_flag=True, help="Leave out revoked tokens.")
@FORMAT
@click.pass_context
def api_token_list(ctx: click.Context, live: bool, fmt: str) -> None:
    """List the API tokens: name, scopes, when made, last used (to the minute) and revoked. Never a secret."""
    rows = [_row(x) for x in open_desk(ctx).api_tokens(revoked=not live)]
    emit(fmt, rows, ["name", "scopes", "state", "created_at", "last_used_at", "revoked_at"], "API tokens")


@api_token.command("revoke")
@click.argument("name")
@click.pass_context
def api_token_revoke(ctx: click.Context, name: str) -> None:
    """Revoke the API token NAME: every web process refuses it from its next request."""
    token = open_desk(ctx).revoke_api_token(name)
    click.echo(f"API token {token.name!r} revoked")
