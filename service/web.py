"""The search page and the embeddable widget: files from service/static, with their headers."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import Response

STATIC = Path(__file__).resolve().parent / "static"

# The page runs only its own script and stylesheet and calls only its own origin, so an injected
# script or style has nowhere to run. The widget's styles are a constructed stylesheet in its
# shadow root, which this policy allows.
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
# Other intranet pages load widget.js on every visit: browsers may keep it (and the stylesheet)
# for an hour. The page itself is revalidated, so a new release shows at once.
ASSET_CACHE = "public, max-age=3600"

SERVED: dict[str, tuple[str, str, dict[str, str]]] = {
    "/": (
        "index.html",
        "text/html; charset=utf-8",
        {"Cache-Control": "no-cache", "Content-Security-Policy": PAGE_CSP},
    ),
    "/widget.js": ("widget.js", "text/javascript; charset=utf-8", {"Cache-Control": ASSET_CACHE}),
    "/page.css": ("page.css", "text/css; charset=utf-8", {"Cache-Control": ASSET_CACHE}),
}


def _asset(body: bytes, media_type: str, headers: dict[str, str]) -> Callable[[], Response]:
    def asset() -> Response:
        return Response(body, media_type=media_type, headers=headers)

    return asset


def router() -> APIRouter:
    """The page, the widget and the page's stylesheet, each read once when the app is built."""
    web = APIRouter(include_in_schema=False)
    for path, (name, media_type, headers) in SERVED.items():
        body = (STATIC / name).read_bytes()
        web.add_api_route(
            path,
            _asset(body, media_type, {"X-Content-Type-Options": "nosniff", **headers}),
            methods=["GET", "HEAD"],
        )
    return web
