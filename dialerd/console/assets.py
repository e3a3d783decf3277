"""The console's own CSS and scripts (static/), and the front-end libraries npm installed
(package.json, package-lock.json at the repository's root) served from node_modules by name."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from dialerd.config import Settings
from dialerd.console.guard import public

STATIC = Path(__file__).with_name("static")
# URL name -> file under node_modules: the only files of it that are served.
VENDOR = {
    "htmx.min.js": "htmx.org/dist/htmx.min.js",
    "htmx-sse.js": "htmx-ext-sse/dist/sse.min.js",
    "uPlot.min.js": "uplot/dist/uPlot.iife.min.js",
    "uPlot.min.css": "uplot/dist/uPlot.min.css",
}
_CACHE = {"Cache-Control": "public, max-age=3600"}


def missing(settings: Settings) -> list[str]:
    """Vendor files that are not installed (scripts/setup.sh runs npm ci)."""
    root = settings.node_modules_dir()
    return [name for name, rel in VENDOR.items() if not (root / rel).is_file()]


NODE_MODULES = web.AppKey("console_node_modules", Path)
routes = web.RouteTableDef()


@routes.get("/assets/vendor/{name}", name="vendor")
@public
async def vendor(request: web.Request) -> web.StreamResponse:
    rel = VENDOR.get(request.match_info["name"])
    path = request.app[NODE_MODULES] / rel if rel is not None else None
    if path is None or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers=_CACHE)


@routes.get("/assets/{name}", name="static")
@public
async def static(request: web.Request) -> web.StreamResponse:
    name = request.match_info["name"]
    path = STATIC / name
    if "/" in name or name.startswith(".") or not path.is_file():
        raise web.HTTPNotFound()
    return web.FileResponse(path, headers=_CACHE)
