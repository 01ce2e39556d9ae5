"""A headless Chromium for the browser tests (the view's and the site's), found or brought.

The README's test command must pass on a fresh Debian machine where nobody installed a browser
(issue 31), so the tests look for one in this order: ``$GANKIT_CHROMIUM``, Playwright's own
browser (``playwright install chromium``), a Chromium on PATH. When there is none and the tests
run as root where apt-get is, they install Debian's ``chromium`` (once, the output in a log);
anywhere else the browser tests are skipped with the one line that says what to do.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from gankit.view.browser import CANDIDATES, CHROMIUM_FLAGS

APT_LOG = Path(tempfile.gettempdir()) / "gankit-chromium-apt.log"
WHAT_TO_DO = ("no Chromium for the browser tests: run them as root on Debian (they install "
              "it), or 'apt-get install -y chromium', or '.venv/bin/playwright install "
              "chromium', or set GANKIT_CHROMIUM to a Chromium binary")


def playwright_browser() -> Path | None:
    """Playwright's own Chromium when it was downloaded, else None."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return None
    with sync_playwright() as playwright:
        path = Path(playwright.chromium.executable_path)
    return path if path.is_file() else None


def find_chromium() -> Path | None:
    """The browser to drive, or None; a GANKIT_CHROMIUM that names no file is an error."""
    if named := os.environ.get("GANKIT_CHROMIUM"):
        if not Path(named).is_file():
            pytest.fail(f"GANKIT_CHROMIUM={named} is not a file", pytrace=False)
        return Path(named)
    if own := playwright_browser():
        return own
    for name in CANDIDATES:
        if found := shutil.which(name):
            return Path(found)
    return None


def can_install() -> bool:
    """Whether the tests may install Debian's chromium themselves: root, with apt-get."""
    return os.geteuid() == 0 and shutil.which("apt-get") is not None


def install_chromium() -> None:
    """``apt-get install chromium``, with ``apt-get update`` first when the lists are stale."""
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    print(f"\ninstalling Debian's chromium for the browser tests (apt-get, log: {APT_LOG}) ...",
          file=sys.__stderr__, flush=True)
    with APT_LOG.open("w") as log:
        def apt(command: list[str]) -> bool:
            return subprocess.run(command, stdout=log, stderr=subprocess.STDOUT,
                                  env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
                                  ).returncode == 0

        if not apt(install) and not (apt(["apt-get", "update", "-q"]) and apt(install)):
            last = APT_LOG.read_text().strip().splitlines()[-1:] or ["(no output)"]
            pytest.fail(f"apt-get could not install chromium ({last[0]}); see {APT_LOG}",
                        pytrace=False)


def chromium_for_tests() -> Path:
    """The Chromium the browser tests drive: found, else installed, else the tests skip."""
    if found := find_chromium():
        return found
    if not can_install():
        pytest.skip(WHAT_TO_DO)
    install_chromium()
    if found := find_chromium():
        return found
    pytest.fail(f"apt-get installed chromium but none is on PATH; see {APT_LOG}", pytrace=False)


@contextmanager
def launched(path: Path) -> Iterator[Any]:
    """A headless Chromium (a Playwright ``Browser``) started from ``path``, closed after."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("playwright is not installed: pip install -e '.[dev]'")
    with sync_playwright() as playwright:
        try:
            chromium = playwright.chromium.launch(executable_path=str(path),
                                                  args=list(CHROMIUM_FLAGS))
        except Exception as err:  # Playwright's own Error, with the browser's log
            first = (str(err).strip().splitlines() or [type(err).__name__])[0]
            pytest.fail(f"{path} did not start: {first}", pytrace=False)
        try:
            yield chromium
        finally:
            chromium.close()
