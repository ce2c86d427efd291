"""``lumos-studio web``: the same studio in a browser, served by ``textual-serve``.

Each browser tab runs its own studio process (textual-serve starts the command per connection
and relays the terminal over a websocket), on the same ``--db``; its receiver takes the next free
port when another tab holds 4318. On loopback by default; on any other address a token is
required, as for ``serve``: the page is opened once with ``?token=TOKEN``, which sets a cookie
(HttpOnly, SameSite=Strict) the page's websocket then carries; a request with neither is answered
401 and starts nothing.
"""

from __future__ import annotations

import hmac
import logging
import shlex
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web
from textual_serve.server import Server

COOKIE = "lumos_token"
PAGE = Path(__file__).parent / "web_page"  # our page: textual-serve's own loads web fonts
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def studio_command(db: Path | str, otlp_port: int, path: Path | None,
                   forward: Sequence[str] = ()) -> str:
    """The shell command each browser tab runs: the studio on ``db`` (the demo, or ``path``'s
    agents as ``dev`` would)."""
    words = [sys.executable, "-m", "lumos_studio", "--db", str(db), "--otlp-port", str(otlp_port)]
    for target in forward:
        words += ["--forward", target]
    if path is not None:
        words += ["dev", str(path)]
    return shlex.join(words)


class StudioWebServer(Server):
    """textual-serve's server, with the token check in front of every route."""

    def __init__(self, command: str, *, host: str, port: int, token: str | None,
                 public_url: str | None = None, title: str = "Lumos Studio") -> None:
        shown_host = f"[{host}]" if ":" in host else host
        super().__init__(command, host=host, port=port, title=title,
                         public_url=public_url or f"http://{shown_host}:{port}",
                         templates_path=PAGE)
        self._token = token.encode() if token else None

    @property
    def url(self) -> str:
        """What to open in a browser (with the token, when one is needed)."""
        if self._token is None:
            return self.public_url
        return f"{self.public_url}/?token={self._token.decode()}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        if self._token is not None:
            app.middlewares.append(self._require_token)
        return app

    @web.middleware
    async def _require_token(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        from_query = request.query.get("token", "")
        given = from_query or request.cookies.get(COOKIE, "")
        assert self._token is not None
        if not hmac.compare_digest(given.encode("utf-8", "surrogateescape"), self._token):
            raise web.HTTPUnauthorized(
                text="this studio needs its token: open the URL lumos-studio web printed "
                     "(…/?token=TOKEN)")
        response = await handler(request)
        if from_query and not isinstance(response, web.WebSocketResponse):
            response.set_cookie(COOKIE, from_query, httponly=True, samesite="Strict")
        return response

    def initialize_logging(self) -> None:
        """Warnings and errors only: not a line for every request."""
        super().initialize_logging()
        logging.getLogger().setLevel(logging.WARNING)

    async def on_startup(self, app: web.Application) -> None:
        self.console.print(f"serving the studio on {self.url} — open it in a browser",
                           markup=False, highlight=False)
        self.console.print("Ctrl-C to stop", style="dim")
