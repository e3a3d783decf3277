"""The OpenAPI document: valid OpenAPI 3.1, every route of the app and nothing else, the seeds'
field names, and the seeds' request examples valid under its schemas."""

from __future__ import annotations

import re
from typing import Any, cast

import asyncpg
import jsonschema
import pytest
from openapi_spec_validator import validate

from dialerd.api import examples
from dialerd.api.app import init_app
from dialerd.api.contacts import IMPORT_FIELDS, UPDATE_FIELDS
from dialerd.api.openapi import document
from dialerd.config import Settings

DOC = document()
SCHEMAS: dict[str, Any] = DOC["components"]["schemas"]


def _schema(name: str) -> dict[str, Any]:
    """A component with its references resolvable (for jsonschema)."""
    return {"$ref": f"#/components/schemas/{name}", "components": DOC["components"]}


def _body_schema(method: str, path: str) -> str:
    ref: str = DOC["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"][
        "$ref"
    ]
    return ref.rsplit("/", 1)[1]


def _answer_schema(method: str, path: str, status: str = "200") -> dict[str, Any]:
    ref: str = DOC["paths"][path][method]["responses"][status]["content"]["application/json"][
        "schema"
    ]["$ref"]
    return cast(dict[str, Any], SCHEMAS[ref.rsplit("/", 1)[1]])


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOC)
    assert DOC["openapi"] == "3.1.0"


def test_every_route_of_the_app_is_in_the_document_and_nothing_else() -> None:
    app = init_app(Settings(), cast(asyncpg.Pool, None))
    served = set()
    for route in app.router.routes():
        info = route.resource.get_info() if route.resource else {}
        path = info.get("path") or info.get("formatter", "")
        path = re.sub(r"\{(\w+):[^}]+\}", r"{\1}", path)  # {id:\d+} -> {id}
        if route.method in ("HEAD", "*") or path in ("/openapi.json", "/docs", "/docs/{name}"):
            continue
        served.add((route.method.lower(), path))
    documented = {(method, path) for path, ops in DOC["paths"].items() for method in ops}
    assert served == documented


def test_every_operation_answers_errors_in_its_apis_envelope() -> None:
    for path, ops in DOC["paths"].items():
        envelope = "CalltaskStatus" if path.startswith("/itxdialer/") else "DiallerError"
        for method, op in ops.items():
            assert ("401" in op["responses"]) is (path != "/health"), (method, path)
            # The token's lookup needs the database: a 503 with Retry-After when it is down.
            assert ("503" in op["responses"]) is (path != "/health"), (method, path)
            if path != "/health":
                assert "Retry-After" in op["responses"]["503"]["headers"]
            for status, answer in op["responses"].items():
                if int(status) < 400:
                    continue
                name = answer["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
                # The poll's refused or failed import: the envelope with the import's id.
                assert set(SCHEMAS[envelope]["required"]) <= set(SCHEMAS[name]["required"])
                assert name == envelope or (path, name) == (
                    "/itxdialer/calltaskimport/{importId}",
                    "CalltaskRefused",
                ), (method, path, status)


def test_the_contacts_bodies_have_the_fields_the_api_reads() -> None:
    assert set(SCHEMAS[_body_schema("post", "/dialler/contacts/import")]["properties"]) == (
        IMPORT_FIELDS
    )
    assert set(SCHEMAS[_body_schema("post", "/dialler/contacts/update")]["properties"]) == (
        UPDATE_FIELDS
    )


@pytest.mark.parametrize(
    ("method", "path", "example"),
    [
        ("post", "/itxdialer/calltaskimport", examples.CALLTASK_REQUEST),
        ("post", "/dialler/contacts/import", examples.CONTACT_IMPORT),
        ("post", "/dialler/contacts/import", examples.CONTACT_IMPORT_BY_NAME),
        ("post", "/dialler/contacts/update", examples.CONTACT_UPDATE),
        ("post", "/dialler/contacts/update", examples.CONTACT_UPDATE_BY_USER_DATA),
    ],
)
def test_the_seeds_request_examples_are_valid_bodies(
    method: str, path: str, example: dict[str, Any]
) -> None:
    jsonschema.validate(example, _schema(_body_schema(method, path)))
    shown = DOC["paths"][path][method]["requestBody"]["content"]["application/json"]["examples"]
    assert example in [e["value"] for e in shown.values()]


def test_the_seeds_answers_use_the_documents_field_names() -> None:
    """The seeds' (shortened) records name only fields of the document's records, spelt alike."""
    contact = SCHEMAS["DiallerContact"]["properties"]
    history = SCHEMAS["DiallerContactsHistory"]["properties"]
    assert set(examples.CONTACT) <= set(contact)
    assert set(examples.HISTORY["records"][0]) <= set(history)
    # The history record of the seed is complete: every field it names is required.
    assert set(examples.HISTORY["records"][0]) <= set(SCHEMAS["DiallerContactsHistory"]["required"])
    jsonschema.validate(examples.CALLTASK_RESULT, _schema("CalltaskImportResult"))
    list_answer = _answer_schema("get", "/dialler/contacts")
    assert set(examples.CONTACT_LIST) == set(list_answer["properties"])


def test_campaign_patches_require_nothing_and_creates_may_name_an_id() -> None:
    assert "required" not in SCHEMAS["CampaignPatch"]
    assert "required" not in SCHEMAS["ResultCodePatch"]
    assert SCHEMAS["CampaignCreate"]["required"] == SCHEMAS["CampaignSettings"]["required"]
    assert "ID" in SCHEMAS["CampaignCreate"]["properties"]
    assert "ID" not in SCHEMAS["CampaignSettings"]["properties"]
