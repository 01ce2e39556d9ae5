"""The page in a real browser, for the view's end-to-end test and its benchmark: Debian's
``chromium`` driven by Playwright (a dev dependency: ``pip install -e '.[dev]'``).

Playwright's own browser download cannot run here (no internet), so it drives the system's
Chromium. The flags keep a headless Chromium off the network it would otherwise try to reach at
start (component updates, sync, background fetches), which a closed machine refuses many times
a second.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync")
CANDIDATES = ("chromium", "chromium-browser", "google-chrome")


class BrowserUnavailable(RuntimeError):
    """Chromium or Playwright is missing, or the browser would not start: the reason in one
    line, with what installs it."""


def chromium_path() -> Path:
    """The system's Chromium: ``$GANKIT_CHROMIUM``, else the first on PATH."""
    if named := os.environ.get("GANKIT_CHROMIUM"):
        if not Path(named).is_file():
            raise BrowserUnavailable(f"GANKIT_CHROMIUM={named} is not a file")
        return Path(named)
    for name in CANDIDATES:
        if found := shutil.which(name):
            return Path(found)
    raise BrowserUnavailable("no chromium on PATH; install it with 'apt-get install -y "
                             "chromium' (Debian), or set GANKIT_CHROMIUM to a Chromium binary")


def launch(playwright: Any) -> Any:
    """A headless Chromium browser from a started ``sync_playwright()``."""
    path = chromium_path()
    try:
        return playwright.chromium.launch(executable_path=str(path), args=list(CHROMIUM_FLAGS))
    except Exception as err:  # Playwright raises its own Error with the browser's log
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise BrowserUnavailable(f"{path} did not start: {first}") from None


def sync_playwright() -> Any:
    """Playwright's synchronous entry point, or why it is missing."""
    try:
        from playwright.sync_api import sync_playwright as start
    except ImportError:
        raise BrowserUnavailable("playwright is not installed; pip install -e '.[dev]'"
                                 ) from None
    return start()
