"""The JSON API reference, generated from the OpenAPI document the portal serves (``itsm-api-reference``).

One section per resource; each operation with its method and path, the scope its token
needs, what it does, its query parameters and body fields (type, required) and the
schema of its answer, so the page cannot disagree with the server.
"""

from __future__ import annotations

from typing import Any

from docutils import nodes
from itsm_reference import _cell, _inline, _para, _section, make_table
from sphinx.application import Sphinx
from sphinx.util.docutils import SphinxDirective

_TITLES = {
    "demands": "Demands",
    "approvals": "Approvals",
    "announcements": "Announcements",
    "customers": "Customers and subscriptions",
    "surveys": "Confirmations and surveys",
    "jobs": "Jobs",
    "tasks": "Tasks",
    "catalog": "Catalog and eligibility",
    "reviews": "Reviews",
    "reports": "Reports",
    "tokens": "API tokens",
}


def _type(schema: dict[str, Any]) -> str:
    """A JSON Schema as a short type: ``string``, ``integer (1-500)``, ``one of a, b``, ``Demand``, ``list of Link``."""
    if "$ref" in schema:
        return str(schema["$ref"]).rsplit("/", 1)[-1]
    if "anyOf" in schema:
        kinds = [_type(s) for s in schema["anyOf"] if s != {"type": "null"}]
        nullable = any(s == {"type": "null"} for s in schema["anyOf"])
        return " or ".join(kinds) + (" or null" if nullable else "")
    if "enum" in schema:
        return "one of " + ", ".join(str(v) for v in schema["enum"])
    kind = schema.get("type", "any")
    if kind == "array":
        return f"list of {_type(schema.get('items', {}))}"
    if kind == "integer" and ("minimum" in schema or "maximum" in schema):
        return f"integer ({schema.get('minimum', '')}-{schema.get('maximum', '')})"
    if kind == "string" and schema.get("pattern") == "\\S":
        return "string, not blank"
    return str(kind)


def _fields(schema: dict[str, Any]) -> list[tuple[str, str, str]]:
    required = set(schema.get("required", ()))
    return [
        (name, _type(prop), ("required. " if name in required else "") + str(prop.get("description", "")))
        for name, prop in schema.get("properties", {}).items()
    ]


class ApiReference(SphinxDirective):
    """Every operation of ``itsm_portal.api``, by resource."""

    has_content = False

    def run(self) -> list[nodes.Node]:
        from itsm_portal.api import openapi_document

        doc = openapi_document()
        schemas = doc["components"]["schemas"]
        by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {}
        for path, ops in doc["paths"].items():
            for method, op in ops.items():
                by_tag.setdefault(op["tags"][0], []).append((method.upper(), path, op))
        out: list[nodes.Node] = []
        for tag, ops in by_tag.items():
            children: list[nodes.Node] = []
            for method, path, op in ops:
                head = nodes.paragraph()
                head += nodes.strong(text=f"{method} /api/v1{path}")
                head += nodes.Text(f"  (scope: {op['x-scope'] or 'see below'})")
                children.append(head)
                children.append(_para(op["summary"] + "."))
                children.append(_para(op["description"]))
                rows = []
                for p in op.get("parameters", []):
                    text = ("required. " if p["required"] else "") + p.get("description", "")
                    rows.append((None, [_cell(p["name"], code=True), _cell(p["in"]), _cell(_type(p["schema"])), _cell(text)]))
                body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
                if body:
                    for name, kind, text in _fields(schemas[_type(body)]):
                        rows.append((None, [_cell(name, code=True), _cell("body"), _cell(kind), _cell(text)]))
                if rows:
                    children.append(make_table(["name", "in", "type", "what"], rows, [16, 8, 24, 52]))
                answers = [
                    f"{status}: {_type(r['content']['application/json']['schema'])}"
                    for status, r in op["responses"].items()
                    if "content" in r and "application/json" in r["content"]
                ]
                refusals = [s for s, r in op["responses"].items() if "$ref" in r]
                children.append(_para("Answers " + "; ".join(answers) + ". Refusals (problem details): " + ", ".join(refusals) + "."))
            out.append(_section(self, _TITLES.get(tag, tag.title()), f"api-{tag}", *children))
        shapes: list[nodes.Node] = []
        for name, schema in schemas.items():
            if schema.get("additionalProperties") is False or "properties" not in schema:
                continue  # bodies are described with their operations
            para = nodes.paragraph()
            para += nodes.strong(text=name)
            if schema.get("description"):
                para += nodes.Text(": ")
                para.extend(_inline(schema["description"]))
            shapes.append(para)
            rows = [(None, [_cell(n, code=True), _cell(k), _cell(t)]) for n, k, t in _fields(schema)]
            shapes.append(make_table(["field", "type", "what"], rows, [20, 28, 52]))
        out.append(_section(self, "Answers", "api-answers", *shapes))
        return out


def setup(app: Sphinx) -> dict[str, Any]:
    app.add_directive("itsm-api-reference", ApiReference)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True}
