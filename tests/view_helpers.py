"""What the view's tests share: a collector of a session's messages, and the server on a free
port in a thread of the test process."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from gankit.view.frames import decode_message

WAIT_S = 60.0  # generous: the test machine's two cores are shared with other tests


class Collector:
    """A session's ``emit``: keeps every message; waits for the one a test expects."""

    def __init__(self) -> None:
        self.messages: list[Any] = []
        self._changed = threading.Condition()

    def __call__(self, message: Any) -> None:
        with self._changed:
            self.messages.append(message)
            self._changed.notify_all()

    def events(self, kind: str | None = None) -> list[dict[str, Any]]:
        with self._changed:
            return [m for m in self.messages if isinstance(m, dict)
                    and (kind is None or m["type"] == kind)]

    def frames(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        with self._changed:
            raw = [m for m in self.messages if isinstance(m, bytes)]
        return [decode_message(m) for m in raw]

    def wait(self, found: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
        """Wait until ``found()`` is truthy; returns it."""
        end = time.monotonic() + timeout
        with self._changed:
            while not (result := found()):
                if not self._changed.wait(max(end - time.monotonic(), 0)) and \
                        time.monotonic() >= end:
                    last = [m for m in self.messages[-5:] if isinstance(m, dict)]
                    raise AssertionError(f"timed out waiting for {what}; last events: {last}")
            return result

    def wait_event(self, kind: str, predicate: Callable[[dict[str, Any]], bool] = lambda e: True,
                   after: int = 0) -> dict[str, Any]:
        """The first event of ``kind`` (among those after the first ``after``) that passes."""
        def found() -> dict[str, Any] | None:
            return next((e for e in self.events(kind)[after:] if predicate(e)), None)

        return self.wait(found, f"a {kind} event")

    def wait_frame(self, predicate: Callable[[dict[str, Any]], bool]
                   ) -> tuple[dict[str, Any], dict[str, Any]]:
        def found() -> tuple[dict[str, Any], dict[str, Any]] | None:
            return next((f for f in self.frames() if predicate(f[0])), None)

        return self.wait(found, "a frame")


@contextlib.contextmanager
def server_thread(base: dict[str, Any], runs: Path, **options: Any) -> Iterator[str]:
    """``gankit view``'s app served on a free port of 127.0.0.1 from a thread; its address."""
    from gankit.view.server import bind, make_server

    sock = bind("127.0.0.1", 0)
    server = make_server(base, runs, **options)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()
