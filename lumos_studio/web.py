"""``lumos-studio web``: the same studio in a browser, served by ``textual-serve``.

Each browser tab runs its own studio process (textual-serve starts the command per connection
and relays the terminal over a websocket), on the same ``--db``; its receiver takes the next free
port when another tab holds 4318. On loopback by default; on any other address a token is
required, as for ``serve``: the page is opened once with ``?token=TOKEN``, which sets a cookie
(HttpOnly, SameSite=Strict) the page's websocket then carries; a request with neither is answered
401 and starts nothing.

A shared server has two tokens: the write token's visitors get the whole studio, the read
token's the read-only one (``lumos-studio --read-only``: no receiver, no agents, nothing written).
Which command a tab runs is decided by the token its websocket carries, checked on every request.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
import shlex
import signal
import socket
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from aiohttp import web
from rich.logging import RichHandler
from textual_serve.app_service import AppService
from textual_serve.server import Server

COOKIE = "lumos_token"
PAGE = Path(__file__).parent / "web_page"  # our page: textual-serve's own loads web fonts
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
DB_ENV = "LUMOS_DB"  # the CLI's --db reads it too
ACCESS = "lumos_access"  # the request's key for what its token allows: "write" or "read"
log = logging.getLogger(__name__)


def studio_command(db: Path | None, otlp_port: int, path: Path | None,
                   forward: Sequence[str] = ()) -> str:
    """The shell command each browser tab runs: the studio on ``db`` (the demo, or ``path``'s
    agents as ``dev`` would); None: the store ``LUMOS_DB`` names (``store_in_environment``)."""
    words = [sys.executable, "-m", "lumos_studio", *_db_words(db), "--otlp-port", str(otlp_port)]
    for target in forward:
        words += ["--forward", target]
    if path is not None:
        words += ["dev", str(path)]
    return shlex.join(words)


def read_only_command(db: Path | None) -> str:
    """The command a read-token visitor's tab runs: the studio on ``db``, reading only."""
    return shlex.join([sys.executable, "-m", "lumos_studio", *_db_words(db), "--read-only"])


def store_in_environment(url: str) -> None:
    """Hand the tabs' studios a PostgreSQL URL through ``LUMOS_DB`` (inherited by each tab's
    process), not on their command lines: ``ps`` shows any user a command line, password too."""
    os.environ[DB_ENV] = url


def _db_words(db: Path | None) -> list[str]:
    return [] if db is None else ["--db", str(db)]


class StudioWebServer(Server):
    """textual-serve's server, with the token check in front of every route; a read token's
    tab runs ``read_command`` instead of ``command``."""

    def __init__(self, command: str, *, host: str, port: int, token: str | None,
                 read_token: str | None = None, read_command: str | None = None,
                 public_url: str | None = None, title: str = "Lumos Studio") -> None:
        shown_host = f"[{host}]" if ":" in host else host
        super().__init__(command, host=host, port=port, title=title,
                         public_url=public_url or f"http://{shown_host}:{port}",
                         templates_path=PAGE)
        self._token = token.encode() if token else None
        self._read_token = read_token.encode() if read_token else None
        self.read_command = read_command
        if self._read_token is not None and read_command is None:
            raise ValueError("a read token needs the read-only command its visitors run")
        self._socket: socket.socket | None = None

    def bind(self) -> None:
        """Take the address now, raising ``OSError`` (a port in use, a host that is not this
        machine's), so that nothing says the studio is served before it can be."""
        # Resolved first: create_server would turn a name that does not resolve (gaierror)
        # into a bare OSError.
        family, _type, _proto, _name, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
        self._socket = socket.create_server(address, family=family)

    def serve(self, debug: bool = False) -> None:
        """textual-serve's ``serve``, on the socket ``bind`` took (taken here if it was not)."""
        if self._socket is None:
            self.bind()
        self.debug = debug
        self.initialize_logging()
        loop = asyncio.new_event_loop()
        for signum in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signum, self.request_exit)
        web.run_app(self._make_app(), sock=self._socket, handle_signals=False, loop=loop,
                    print=lambda *args: None)

    @property
    def url(self) -> str:
        """What to open in a browser (with the write token, when one is needed)."""
        if self._token is None:
            return self.public_url if self._read_token is None else self.read_url
        return f"{self.public_url}/?token={self._token.decode()}"

    @property
    def read_url(self) -> str:
        """What read-only visitors open (the same as ``url`` without a read token)."""
        if self._read_token is None:
            return self.url
        return f"{self.public_url}/?token={self._read_token.decode()}"

    async def _make_app(self) -> web.Application:
        app = await super()._make_app()
        if self._token is not None or self._read_token is not None:
            app.middlewares.append(self._require_token)
        return app

    def _access(self, given: str) -> str | None:
        """What ``given`` allows: "write", "read", or None. Both tokens are compared each
        time, in constant time, so the answer's timing says nothing of either."""
        presented = given.encode("utf-8", "surrogateescape")
        writes = self._token is not None and hmac.compare_digest(presented, self._token)
        reads = self._read_token is not None and hmac.compare_digest(presented,
                                                                     self._read_token)
        return "write" if writes else "read" if reads else None

    @web.middleware
    async def _require_token(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        from_query = request.query.get("token", "")
        access = self._access(from_query or request.cookies.get(COOKIE, ""))
        if access is None:
            raise web.HTTPUnauthorized(
                text="this studio needs its token: open the URL lumos-studio web printed "
                     "(…/?token=TOKEN)")
        request[ACCESS] = access
        response = await handler(request)
        if from_query and not isinstance(response, web.WebSocketResponse):
            response.set_cookie(COOKIE, from_query, httponly=True, samesite="Strict")
        return response

    async def handle_websocket(self, request: web.Request) -> web.WebSocketResponse:
        """textual-serve's, with the command the request's token allows (its own runs
        ``self.command`` for everyone); a request that is no websocket's is answered 400."""
        command = self.command if request.get(ACCESS, "write") == "write" else self.read_command
        assert command is not None
        websocket = web.WebSocketResponse(heartbeat=15)
        if not websocket.can_prepare(request).ok:
            raise web.HTTPBadRequest(text="this address takes the page's websocket only\n")
        width = _size(request.query.get("width"), 80)
        height = _size(request.query.get("height"), 24)
        app_service: AppService | None = None

        async def close() -> None:
            await websocket.close()

        try:
            await websocket.prepare(request)
            app_service = AppService(command, write_bytes=websocket.send_bytes,
                                     write_str=websocket.send_str, close=close,
                                     download_manager=self.download_manager, debug=self.debug)
            await app_service.start(width, height)
            await self._process_messages(websocket, app_service)
        except asyncio.CancelledError:
            await websocket.close()
        except Exception:
            log.exception("the studio's tab ended with an error")
        finally:
            if app_service is not None:
                await app_service.stop()
        return websocket

    def initialize_logging(self) -> None:
        """Warnings and errors only: not a line for every request; a traceback without its
        frames' variables (textual-serve shows them: a request's headers hold the token)."""
        super().initialize_logging()
        logging.getLogger().setLevel(logging.WARNING)
        for handler in logging.getLogger().handlers:
            if isinstance(handler, RichHandler):
                handler.tracebacks_show_locals = False

    async def on_startup(self, app: web.Application) -> None:
        if self._token is not None or self._read_token is None:
            self.console.print(f"serving the studio on {self.url} — open it in a browser",
                               markup=False, highlight=False)
        if self._read_token is not None:
            self.console.print(f"read-only: {self.read_url}", markup=False, highlight=False)
        self.console.print("Ctrl-C to stop", style="dim")


def _size(given: str | None, default: int) -> int:
    """A terminal size from the page's query, or ``default`` for anything but a number."""
    try:
        return int(given) if given is not None else default
    except ValueError:
        return default
