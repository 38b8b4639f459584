"""The OpenAPI 3.1 document, generated from the operations' declarations (:mod:`.routing`): never written by hand.

msgspec turns the attrs classes of bodies, queries and answers into JSON Schema
(2020-12, the dialect of OpenAPI 3.1); a query class becomes the operation's parameters.
A body refuses fields it does not declare (``additionalProperties: false``), as the server does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

import msgspec

from .problems import PROBLEM_JSON, Problem
from .routing import Operation

#: Path parameters that are record ids (integers); the others are keys and names (text).
ID_PARAMS = frozenset({"did", "aid", "jid", "tid"})
_PARAM = re.compile(r"{(\w+)}")
_REF = "#/components/schemas/{name}"

#: What each refusal means, for the document.
PROBLEMS = {
    "400": "The body is not a JSON object, or a pagination cursor was changed",
    "401": "No valid API token (missing, unknown or revoked); see WWW-Authenticate",
    "403": "The token lacks the scope the operation needs (``scope`` names it), or the desk refused who it acts for",
    "404": "No such thing (an id out of range is one)",
    "409": "The thing is in the wrong state for this: ``state`` says where it is, ``allowed`` what it may do from there",
    "415": "The body is not sent as application/json",
    "422": "Invalid input: ``errors`` names each field (or query parameter) and what is wrong with it",
    "429": "The token made more requests than the portal's api_rate_limit allows; see Retry-After",
    "503": "Something behind the desk did not answer; try again (see Retry-After)",
}


#: Names in the document for answer classes whose Python names say "Out" or "In".
RENAMES = {"StatusOut": "CustomerStatus", "MilestoneOut": "ReachedMilestone", "MilestoneIn": "Milestone"}


def _renamed(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with each schema under its public name (``DemandOut`` is ``Demand``), references too."""
    schemas = doc["components"]["schemas"]
    names = {}
    for name in schemas:
        new = RENAMES.get(name) or (name[:-3] if name.endswith("Out") else name)
        names[name] = new if new == name or new not in schemas else name
    text = json.dumps(doc)
    for old, new in names.items():
        if old != new:
            text = text.replace(f'"#/components/schemas/{old}"', f'"#/components/schemas/{new}"')
            text = text.replace(f'"title": "{old}"', f'"title": "{new}"')
    out: dict[str, Any] = json.loads(text)
    out["components"]["schemas"] = {names[k]: v for k, v in out["components"]["schemas"].items()}
    return out


def _types(operations: Iterable[Operation]) -> list[Any]:
    seen: list[Any] = [Problem]
    for op in operations:
        for t in (op.body, op.query, op.answer):
            if t is not None and t not in seen:
                seen.append(t)
    return seen


def _parameters(op: Operation, query_schema: dict[str, Any] | None) -> list[dict[str, Any]]:
    params: list[dict[str, Any]] = []
    for name in _PARAM.findall(op.path):
        schema = {"type": "integer"} if name in ID_PARAMS else {"type": "string"}
        params.append({"name": name, "in": "path", "required": True, "schema": schema})
    if query_schema is not None:
        required = set(query_schema.get("required", ()))
        for name, schema in query_schema.get("properties", {}).items():
            schema = _not_null(dict(schema))
            param: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
            if "description" in schema:
                param["description"] = schema.pop("description")
            param["schema"] = schema
            params.append(param)
    return params


def _not_null(schema: dict[str, Any]) -> dict[str, Any]:
    """A query parameter's schema without the ``null`` of an optional one: a query string has no null."""
    options = schema.pop("anyOf", None)
    if options is not None:
        kept = [o for o in options if o != {"type": "null"}]
        schema.update(kept[0] if len(kept) == 1 else {"anyOf": kept})
    if schema.get("default", 0) is None:
        del schema["default"]
    return schema


def _description(op: Operation) -> str:
    note = op.scope_note or f"Needs the `{op.scope}` scope."
    return " ".join(x for x in (op.description, note, "Tokens with `admin` may do everything.") if x)


def build(operations: Iterable[Operation]) -> dict[str, Any]:
    """The OpenAPI document of ``operations``."""
    ops = list(operations)
    types = _types(ops)
    refs, components = msgspec.json.schema_components(types, ref_template=_REF)
    ref_of = dict(zip(map(id, types), refs, strict=True))
    bodies = {id(op.body) for op in ops if op.body is not None}
    queries = {id(op.query) for op in ops if op.query is not None}
    for t in types:
        name = ref_of[id(t)].get("$ref", "").rsplit("/", 1)[-1]
        if id(t) in bodies and name in components:
            components[name]["additionalProperties"] = False
    problem_ref = ref_of[id(Problem)]
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        query_schema = None
        if op.query is not None:
            query_schema = components[ref_of[id(op.query)]["$ref"].rsplit("/", 1)[-1]]
        answer = {"content": {"application/json": {"schema": ref_of[id(op.answer)]}}}
        responses: dict[str, Any] = {str(op.status): {"description": "OK", **answer}}
        for status in op.also:
            responses[str(status)] = {"description": "OK", **answer}
        statuses = ["401", "403", "404", "422", "429", "503"]
        if op.body is not None or op.query is not None:
            statuses.append("400")
        if op.body is not None:
            statuses.append("415")
        if op.conflict:
            statuses.append("409")
        for refusal in sorted(statuses):
            responses[refusal] = {"$ref": f"#/components/responses/{refusal}"}
        doc: dict[str, Any] = {
            "operationId": op.name,
            "summary": op.summary,
            "description": _description(op),
            "tags": [op.handler.__module__.rsplit(".", 1)[-1]],
            "security": [{"bearer": []}],
            "x-scope": op.scope,
            "responses": responses,
        }
        params = _parameters(op, query_schema)
        if params:
            doc["parameters"] = params
        if op.body is not None:
            doc["requestBody"] = {"required": True, "content": {"application/json": {"schema": ref_of[id(op.body)]}}}
        paths.setdefault(op.path, {})[op.method.lower()] = doc
    for t in types:  # a query class lives on as its operation's parameters
        if id(t) in queries and id(t) not in bodies:
            components.pop(ref_of[id(t)]["$ref"].rsplit("/", 1)[-1], None)
    problem = {"application/problem+json": {"schema": problem_ref}}
    assert PROBLEM_JSON in problem
    responses_doc = {
        status: {
            "description": text,
            "content": problem,
            **(
                {"headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "seconds to wait"}}}
                if status in ("429", "503")
                else {}
            ),
        }
        for status, text in PROBLEMS.items()
    }
    return _renamed(
        {
            "openapi": "3.1.0",
            "info": {
                "title": "itsm portal API",
                "version": "1",
                "description": (
                    "Demands, approvals, announcements, customers and their subscriptions, surveys, jobs, tasks, "
                    "reviews, the catalog and the reports of an itsmcore deployment. Every refusal is RFC 9457 "
                    "problem details (application/problem+json)."
                ),
            },
            "servers": [{"url": "/api/v1"}],
            "paths": paths,
            "components": {
                "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
                "responses": responses_doc,
                "schemas": components,
            },
        }
    )
