"""Integrators read the OpenAPI document: every operation has a tag, a summary or description and an example of
its JSON request body and success response, and each example is valid against its own schema."""

from __future__ import annotations

from typing import Any

import jsonschema_rs
import pytest

from app.main import create_app

METHODS = ("get", "post", "put", "patch", "delete")


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return create_app().openapi()


def _examples(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    out = []
    for item in schema["paths"].values():
        for m, op in item.items():
            if m not in METHODS:
                continue
            for ct, media in op.get("requestBody", {}).get("content", {}).items():
                if ct == "application/json":
                    out.append((op["operationId"], "request", media))
            for code, res in op.get("responses", {}).items():
                media = res.get("content", {}).get("application/json")
                if str(code).startswith("2") and media is not None and media.get("schema"):
                    out.append((op["operationId"], f"response {code}", media))
    return out


def _example_of(media: dict[str, Any], components: dict[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    s = media["schema"]
    while "$ref" in s:
        s = components[s["$ref"].rsplit("/", 1)[-1]]
    return s["example"] if "example" in s else s["examples"][0]


def test_every_operation_has_a_tag_and_a_description(schema: dict[str, Any]) -> None:
    missing = [
        op["operationId"]
        for item in schema["paths"].values()
        for m, op in item.items()
        if m in METHODS and not (op.get("tags") and (op.get("summary") or op.get("description")))
    ]
    assert not missing


def test_every_json_request_and_response_has_an_example_valid_against_its_schema(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    found = _examples(schema)
    assert len(found) > 150
    bad = []
    for op_id, where, media in found:
        try:
            example = _example_of(media, components)
        except (KeyError, IndexError):
            bad.append(f"{op_id} {where}: no example")
            continue
        validator = jsonschema_rs.validator_for({"allOf": [media["schema"]], "components": {"schemas": components}})
        errors = [e.message for e in validator.iter_errors(example)]
        if errors:
            bad.append(f"{op_id} {where}: {errors[:2]}")
    assert not bad, "\n".join(bad)
