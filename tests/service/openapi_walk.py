"""Walking the service's own OpenAPI document: its request bodies, their strings, valid values.

Tests that must cover every field read the fields here instead of listing them.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta, timezone
from typing import Any, Iterator

import pytest


@pytest.fixture(scope="module")
def document() -> dict:
    from pepyhat.api import create_app
    from pepyhat.config import Settings

    app = create_app(Settings(database_url="sqlite://"))
    try:
        return app.openapi()
    finally:
        app.state.runtime.engine.dispose()


def resolve(doc: dict, node: dict) -> dict:
    while "$ref" in node:  # "#/components/schemas/Name", or just "Name"
        node = doc["components"]["schemas"][node["$ref"].rsplit("/", 1)[-1]]
    return node


def valid(doc: dict, node: dict, examples: list | None = None) -> Any:
    """A value the schema accepts (the model checks it below, so a wrong guess fails loudly)."""
    node = resolve(doc, node)
    examples = node.get("examples", examples)
    if "anyOf" in node:
        branch = next(b for b in node["anyOf"] if b.get("type") != "null")
        return valid(doc, branch, examples)
    kind = node.get("type")
    if "enum" in node:
        return node["enum"][0]
    if kind == "object":
        return {name: valid(doc, sub) for name, sub in node.get("properties", {}).items() if name in node.get("required", ())}
    if kind == "array":
        return [valid(doc, node["items"], examples[0] if examples and isinstance(examples[0], list) else None)]
    if kind == "string":
        if node.get("format") == "date-time":
            return (datetime.now(timezone.utc) + timedelta(days=30)).isoformat()
        value = examples[0] if examples else "x"
        assert re.search(node.get("pattern", ""), value), f"give {node} an example it accepts"
        return value
    if kind == "integer":
        return node.get("minimum", 1)
    if kind == "boolean":
        return True
    raise AssertionError(f"no valid value for {node}")


def strings(doc: dict, node: dict, loc: tuple = (), examples: list | None = None) -> Iterator[tuple[tuple, dict, Any]]:
    """(location, the top-level field's valid value with a string there, the string) for every string leaf."""
    node = resolve(doc, node)
    examples = node.get("examples", examples)
    for branch in node.get("anyOf", ()):
        if branch.get("type") != "null":
            yield from strings(doc, branch, loc, examples)
    if node.get("type") == "object":
        for name, sub in node.get("properties", {}).items():
            yield from strings(doc, sub, (*loc, name))
    elif node.get("type") == "array":
        yield from strings(doc, node["items"], (*loc, 0), examples[0] if examples and isinstance(examples[0], list) else None)
    elif node.get("type") == "string":
        yield loc, node, valid(doc, node, examples)


def with_value(body: dict, doc: dict, schema: dict, loc: tuple, value: Any) -> dict:
    """``body`` with the string at ``loc`` set to ``value`` (building whatever holds it)."""
    body = json.loads(json.dumps(body))
    top = resolve(doc, schema)["properties"][loc[0]]
    holder = body.setdefault(loc[0], valid(doc, top)) if len(loc) > 1 else body
    for part in loc[1:-1]:
        holder = holder[part]
    holder[loc[-1]] = value
    return body


def body_operations(doc: dict) -> list[tuple[str, str, str]]:
    """(method, path, model name) of every operation with a body (an optional one is a union with null)."""
    out = []
    for path, ops in doc["paths"].items():
        for method, op in ops.items():
            if "requestBody" in op:
                schema = op["requestBody"]["content"]["application/json"]["schema"]
                (ref,) = [b["$ref"] for b in [schema, *schema.get("anyOf", [])] if "$ref" in b]
                out.append((method.upper(), path, ref.rsplit("/", 1)[1]))
    return out
