"""Every JSON route of the API declares its response model (``museforge.server.responses``), so ``/docs`` shows
what it returns and a route that returns a bare dict cannot come back unnoticed: the OpenAPI schema names a model
(a ``$ref`` into ``components/schemas``) for each route's success answer, or for the items of a list answer.
Only the routes that answer with a file or a stream are left out, and they are named here."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

#: The routes whose answer is a file or an event stream, not JSON: (method, path).
NOT_JSON = {
    ("GET", "/api/models/{name}/samples/{filename}"),
    ("GET", "/api/compositions/{composition_id}/{kind}"),
    ("GET", "/api/jobs/{job_id}/events"),
    ("GET", "/api/sounds/{program}.wav"),
    ("GET", "/api/sounds/drums/{kit}.wav"),
}
SCHEMAS = "#/components/schemas/"


@pytest.fixture
def spec(client: TestClient) -> dict[str, Any]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """(method, path, operation) of every route under /api in the schema."""
    return [
        (method.upper(), path, operation)
        for path, operations in spec["paths"].items()
        if path.startswith("/api/")
        for method, operation in operations.items()
    ]


def _success(operation: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The status code and the response object of an operation's one success answer."""
    codes = [code for code in operation["responses"] if code.startswith("2")]
    assert len(codes) == 1, f"{operation['operationId']}: success answers {codes}"
    return codes[0], operation["responses"][codes[0]]


def _json_schema(response: dict[str, Any]) -> dict[str, Any] | None:
    return (response.get("content") or {}).get("application/json", {}).get("schema")


def _model_name(schema: dict[str, Any]) -> str | None:
    """The model a schema names (``$ref``), or the model of its items for a list; None for anything else."""
    if schema.get("type") == "array":
        schema = schema.get("items") or {}
    ref = schema.get("$ref")
    return ref.removeprefix(SCHEMAS) if isinstance(ref, str) and ref.startswith(SCHEMAS) else None


def test_every_json_route_names_a_response_model(spec: dict[str, Any]) -> None:
    models = spec["components"]["schemas"]
    checked, bare = [], []
    for method, path, operation in _operations(spec):
        if (method, path) in NOT_JSON:
            continue
        code, response = _success(operation)
        schema = _json_schema(response)
        name = _model_name(schema) if schema is not None else None
        if name is None or name not in models:
            bare.append(f"{method} {path} ({code}): {schema}")
        else:
            assert models[name].get("type") == "object" and models[name].get("properties"), (path, name)
        checked.append((method, path))
    assert not bare, "routes answering JSON without a response model:\n" + "\n".join(bare)
    methods = {method for method, _ in checked}
    assert {"GET", "POST", "DELETE"} <= methods and len(checked) >= 30, checked


def test_only_the_file_and_stream_routes_answer_other_than_json(spec: dict[str, Any]) -> None:
    not_json = {(m, p) for m, p, operation in _operations(spec) if _json_schema(_success(operation)[1]) is None}
    assert not_json == NOT_JSON


def test_every_api_route_is_in_the_schema(client: TestClient, spec: dict[str, Any]) -> None:
    """A route hidden from the schema (``include_in_schema=False``) would escape the checks above."""
    from museforge.server.routes import ROUTERS

    app = client.app
    assert isinstance(app, FastAPI)
    routes = [route for router in ROUTERS for route in router.routes] + list(app.routes)
    api = {
        (method, route.path)
        for route in routes
        if isinstance(route, APIRoute) and route.path.startswith("/api/")
        for method in route.methods or ()
    }
    assert api == {(method, path) for method, path, _ in _operations(spec)}
