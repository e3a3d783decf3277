"""/openapi.json and its page /docs, served without a token; the page's scripts are this
server's own files (Swagger UI from node_modules), under a Content-Security-Policy."""

from __future__ import annotations

import re

from dialerd.api.openapi import document
from tests.conftest import Api


async def test_the_document_is_served_without_a_token(api: Api) -> None:
    resp = await api.client.get("/openapi.json")
    assert (resp.status, resp.content_type) == (200, "application/json")
    assert await resp.json() == document()


async def test_the_docs_page_loads_swagger_ui_from_this_server_only(api: Api) -> None:
    resp = await api.client.get("/docs")
    assert (resp.status, resp.content_type) == (200, "text/html")
    csp = resp.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "script-src" not in csp  # no inline script
    page = await resp.text()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources == ["/docs/swagger-ui.css", "/docs/swagger-ui-bundle.js", "/docs/docs.js"]
    assert "<script>" not in page
    for source in sources:
        asset = await api.client.get(source)
        assert asset.status == 200, source
        assert len(await asset.read()) > 100
    bundle = await api.client.get("/docs/swagger-ui-bundle.js")
    assert "SwaggerUIBundle" in await bundle.text()
    assert "/openapi.json" in await (await api.client.get("/docs/docs.js")).text()


async def test_other_files_of_the_package_are_not_served(api: Api) -> None:
    for path in ("/docs/index.html", "/docs/package.json", "/docs/..%2Fdocs.html"):
        status, body = await api.request("GET", path, auth=False)
        assert (status, body["status"]) == (404, 404), path
