"""The view's web server: the page and its files (shipped in ``gankit/view/static``, no CDN),
and one WebSocket per page, each with its own :class:`~gankit.view.session.ViewSession`.

Starlette serves, uvicorn runs it, bound to 127.0.0.1 unless told otherwise. The page sends
JSON commands; the server sends JSON events and binary frames (:func:`gankit.view.frames.
encode`). A page that cannot keep up gets the newest frame and every event: frames are
replaced while they wait, events (metrics, errors) queue.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from collections import deque
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.responses import FileResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles
from starlette.websockets import WebSocket, WebSocketDisconnect

from gankit.evaluation import palette
from gankit.training.runlog import to_json
from gankit.view.messages import parse_message
from gankit.view.session import Message, ViewSession

STATIC = Path(__file__).parent / "static"
MAX_SESSIONS = 4  # pages trained at once: each takes a core while it plays
# Larger messages end the connection (uvicorn, close code 1009); smaller ones are read and
# refused with an error event past gankit.view.messages.MAX_MESSAGE_CHARS, the page's limit.
WS_MAX_BYTES = 16 * 2**20


class Outbox:
    """What waits to go to one page: every event, and the newest frame only."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._events: deque[dict[str, Any]] = deque()
        self._frame: bytes | None = None
        self._wake = asyncio.Event()

    def put(self, message: Message) -> None:
        """From any thread."""
        try:
            self._loop.call_soon_threadsafe(self._put, message)
        except RuntimeError:  # the loop has closed: the server is gone, nobody to tell
            pass

    def _put(self, message: Message) -> None:
        if isinstance(message, bytes):
            self._frame = message
        else:
            self._events.append(message)
        self._wake.set()

    async def pump(self, websocket: WebSocket) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._events:
                await websocket.send_text(to_json(self._events.popleft()))
            if self._frame is not None:
                frame, self._frame = self._frame, None
                await websocket.send_bytes(frame)


class _NoClientTracebacks(logging.Filter):
    """uvicorn logs a text message that is not UTF-8 with a traceback, though the fault is the
    client's and the protocol answers it (close code 1007, RFC 6455 section 8.1): its line
    alone is logged."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and isinstance(record.exc_info[1], UnicodeDecodeError):
            record.exc_info, record.exc_text = None, None
        return True


_NO_CLIENT_TRACEBACKS = _NoClientTracebacks()


def create_app(base: dict[str, Any], runs: Path, opened: Path | None = None,
               max_sessions: int = MAX_SESSIONS) -> Starlette:
    """The app: ``/`` the page, ``/static/...`` its files, ``/ws`` a session per page.
    ``/static/palette.css`` is written from :mod:`gankit.evaluation.palette`, so the page
    draws real and generated points in the colours of the snapshots."""
    sessions: set[ViewSession] = set()

    async def page(request: Any) -> FileResponse:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})

    async def colours(request: Any) -> Response:
        return Response(palette.css(), media_type="text/css",
                        headers={"Cache-Control": "no-cache"})

    async def connect(websocket: WebSocket) -> None:
        await websocket.accept()
        if len(sessions) >= max_sessions:
            await websocket.send_text(to_json({
                "type": "error", "fatal": True,
                "message": f"the view trains at most {max_sessions} pages at once; close one"}))
            await websocket.close()
            return
        loop = asyncio.get_running_loop()
        outbox = Outbox(loop)
        session = ViewSession(base, runs, outbox.put, opened)
        sessions.add(session)
        sender = asyncio.create_task(outbox.pump(websocket))
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                session.submit(parse_message(message.get("text"), message.get("bytes")))
        except WebSocketDisconnect:
            pass
        finally:
            sender.cancel()
            sessions.discard(session)
            await loop.run_in_executor(None, session.close)

    return Starlette(routes=[Route("/", page), Route("/static/palette.css", colours),
                             Mount("/static", StaticFiles(directory=STATIC)),
                             WebSocketRoute("/ws", connect)])


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (port 0: any free one), so that the address printed is the one
    served, before the server starts."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(64)  # a page that connects before uvicorn runs waits in the backlog
    except OSError as err:
        sock.close()
        from gankit.errors import GankitError

        raise GankitError(f"cannot listen on {host}:{port}: {err.strerror}") from None
    return sock


def make_server(base: dict[str, Any], runs: Path, opened: Path | None = None,
                max_sessions: int = MAX_SESSIONS) -> Any:
    """The uvicorn server of the app (``.run(sockets=[bind(...)])`` serves until Ctrl-C or
    ``should_exit``); closing, it ends every page's connection and with it its session."""
    import uvicorn

    config = uvicorn.Config(create_app(base, runs, opened, max_sessions), log_level="warning",
                            ws_max_size=WS_MAX_BYTES, timeout_graceful_shutdown=3,
                            ws_per_message_deflate=False)  # float32 frames barely compress
    logging.getLogger("uvicorn.error").addFilter(_NO_CLIENT_TRACEBACKS)  # one instance: added once
    return uvicorn.Server(config)


def serve(base: dict[str, Any], runs: Path, opened: Path | None, host: str, port: int) -> None:
    """Run the view until Ctrl-C."""
    import ot  # noqa: F401 (POT's import takes seconds: not during the first metrics)

    sock = bind(host, port)
    shown = f"[{host}]" if ":" in host else host
    sys.stderr.write(f"gankit view: http://{shown}:{sock.getsockname()[1]}/ (runs saved in "
                     f"{runs}; Ctrl-C stops)\n")
    make_server(base, runs, opened).run(sockets=[sock])
