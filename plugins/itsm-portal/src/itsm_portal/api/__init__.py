"""The JSON API under /api/v1 for integrations: bearer-token auth, problem details, an OpenAPI 3.1 document.

One module per resource declares its operations (:func:`.routing.operation`); the routes
and the OpenAPI document are both made from those declarations.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

# the resources, in the order the document lists them; importing one declares its operations
from . import (  # noqa: F401
    announcements,
    approvals,
    catalog,
    changes,
    customers,
    demands,
    jobs,
    knowledge,
    problem_records,
    reports,
    reviews,
    surveys,
    tasks,
    teams,
    tokens,
)
from .openapi import build
from .routing import OLDER_TOKEN_SCOPES, OPERATIONS, SCOPES, Caller, Operation, endpoint

__all__ = ["OLDER_TOKEN_SCOPES", "OPERATIONS", "SCOPES", "Caller", "Operation", "openapi_document", "routes"]


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of every operation (built once)."""
    return build(OPERATIONS)


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document())


def routes() -> Sequence[Route]:
    """The routes under /api/v1: the document, then every operation."""
    out = [Route("/openapi.json", openapi, methods=["GET"])]
    out += [Route(op.path, endpoint(op), methods=[op.method]) for op in OPERATIONS]
    return out


def __getattr__(name: str) -> Any:
    if name == "OPENAPI":  # the document, as the module attribute older code reads
        return openapi_document()
    raise AttributeError(name)
