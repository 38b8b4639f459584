"""API tokens: list (never their secrets), make one (its secret shown once), revoke one. Admin only."""

from __future__ import annotations

from typing import Annotated

import attrs
import msgspec

from .routing import Call, Text, operation
from .shapes import when


@attrs.frozen(kw_only=True)
class TokenOut:
    """An API token by name; its secret is never shown again."""

    name: str
    scopes: list[str]
    created_at: str
    last_used_at: str | None
    revoked_at: str | None


@attrs.frozen(kw_only=True)
class IssuedToken(TokenOut):
    token: Annotated[str, msgspec.Meta(description="the secret: shown this once")]


@attrs.frozen(kw_only=True)
class TokenList:
    tokens: list[TokenOut]


@attrs.frozen(kw_only=True)
class NewToken:
    name: Annotated[Text, msgspec.Meta(description="the integration; recorded as the actor of what it does")]
    scopes: Annotated[list[str], msgspec.Meta(min_length=1, description="one or more of read, write, agent, admin")]


def _fields(token: object) -> dict[str, object]:
    return {
        "name": token.name,  # type: ignore[attr-defined]
        "scopes": list(token.scopes),  # type: ignore[attr-defined]
        "created_at": token.created_at.isoformat(),  # type: ignore[attr-defined]
        "last_used_at": when(token.last_used_at),  # type: ignore[attr-defined]
        "revoked_at": when(token.revoked_at),  # type: ignore[attr-defined]
    }


@operation("GET", "/tokens", scope="admin", answer=TokenList, summary="List the API tokens (never their secrets)")
def list_tokens(call: Call) -> TokenList:
    """Revoked ones too."""
    return TokenList(tokens=[TokenOut(**_fields(x)) for x in call.desk.api_tokens()])  # type: ignore[arg-type]


@operation(
    "POST",
    "/tokens",
    scope="admin",
    body=NewToken,
    answer=IssuedToken,
    status=201,
    conflict=True,
    summary="Make an API token; the answer holds it, shown this once",
)
def new_token(call: Call) -> IssuedToken:
    b: NewToken = call.body
    made, secret = call.desk.new_api_token(b.name, b.scopes)
    return IssuedToken(**_fields(made), token=secret)  # type: ignore[arg-type]


@operation(
    "POST",
    "/tokens/{name}/revoke",
    scope="admin",
    answer=TokenOut,
    summary="Revoke an API token: refused at once everywhere",
)
def revoke_token(call: Call) -> TokenOut:
    return TokenOut(**_fields(call.desk.revoke_api_token(call.path["name"])))  # type: ignore[arg-type]
