"""The leaderboard table in the page's first response.

Gradio draws a page only after its scripts have booted (seconds on a busy machine), and fills
the table after one more round trip. :class:`FirstView` is an ASGI middleware that puts the
table the URL asks for, rendered on the server from the store (whose rank intervals are cached
per version), into the HTML of ``GET /`` itself, ahead of the Gradio app. The copy hides as soon
as the app's own table has rows, and is removed once the URL's view is restored. Other tabs
(``?tab=model`` ...) get no copy.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from urllib.parse import parse_qsl

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import MutableHeaders

from .page import CSS

log = logging.getLogger(__name__)

MARK = b"<gradio-app"
STYLE = """
#hps-first-view { max-width: 1280px; margin: 0 auto; padding: 16px;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
#hps-first-view h1 { font-size: 1.6rem; margin: .25rem 0 .75rem 0; }
body:has(#hps-lb .hps-rank) #hps-first-view { display: none; }
"""


def first_view_html(title: str, table: str) -> str:
    return f'<div id="hps-first-view"><style>{CSS}{STYLE}</style><h1>{title}</h1>{table}</div>'


class FirstView:
    """``render(query params) -> HTML or None``, inserted before ``<gradio-app`` of ``GET /``."""

    def __init__(self, app, render: Callable[[dict[str, str]], str | None]) -> None:
        self.app = app
        self.render = render

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or scope["path"] != "/":
            await self.app(scope, receive, send)
            return
        start: dict = {}
        chunks: list[bytes] = []

        async def capture(message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body":
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if message.get("more_body"):
                return
            body = b"".join(chunks)
            headers = MutableHeaders(raw=start["headers"])
            if start["status"] == 200 and headers.get("content-type", "").startswith("text/html"):
                body = await self._insert(scope, body)
                headers["content-length"] = str(len(body))
            await send(start)
            await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, capture)

    async def _insert(self, scope, body: bytes) -> bytes:
        params = dict(parse_qsl(scope.get("query_string", b"").decode("latin-1")))
        try:
            snippet = await run_in_threadpool(self.render, params)
        except Exception:  # the page still works without its first view
            log.exception("first view not rendered")
            return body
        if not snippet or MARK not in body:
            return body
        return body.replace(MARK, snippet.encode("utf-8") + MARK, 1)
