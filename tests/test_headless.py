"""How the browser tests get their Chromium on a machine that has none (issue 31, item 5):
installed with apt-get when they run as root on Debian, else skipped with what to do. The
absence is simulated (PATH and Playwright's browser folder pointed at empty places, geteuid and
apt-get replaced); nothing is uninstalled."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

import headless


@pytest.fixture
def no_browser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A machine with no Chromium: an empty PATH folder, no Playwright browser."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.delenv("GANKIT_CHROMIUM", raising=False)
    monkeypatch.setenv("PLAYWRIGHT_BROWSERS_PATH", str(tmp_path / "no-browsers"))
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setattr(headless, "APT_LOG", tmp_path / "apt.log")
    return bin_dir


def test_without_root_the_browser_tests_skip_saying_what_to_do(no_browser, monkeypatch):
    assert headless.find_chromium() is None
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.skip.Exception, match="apt-get install -y chromium"):
        headless.chromium_for_tests()


def test_as_root_on_debian_the_tests_install_chromium(no_browser, monkeypatch):
    (no_browser / "apt-get").write_text("#!/bin/sh\n")
    (no_browser / "apt-get").chmod(0o755)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    commands: list[list[str]] = []

    def apt(command: list[str], **kwargs: object) -> subprocess.CompletedProcess:
        commands.append(command)
        stale = command[1] == "install" and len(commands) == 1  # the first install: no lists
        if command[1] == "install" and not stale:
            (no_browser / "chromium").write_text("#!/bin/sh\n")
            (no_browser / "chromium").chmod(0o755)
        return subprocess.CompletedProcess(command, 100 if stale else 0)

    monkeypatch.setattr(headless.subprocess, "run", apt)
    assert headless.chromium_for_tests() == no_browser / "chromium"
    install = ["apt-get", "install", "-y", "-q", "chromium"]
    assert commands == [install, ["apt-get", "update", "-q"], install]


def test_a_failed_install_fails_with_the_log(no_browser, monkeypatch):
    (no_browser / "apt-get").write_text("#!/bin/sh\n")
    (no_browser / "apt-get").chmod(0o755)
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    monkeypatch.setattr(headless.subprocess, "run",
                        lambda command, **kwargs: subprocess.CompletedProcess(command, 100))
    with pytest.raises(pytest.fail.Exception, match="apt-get could not install chromium"):
        headless.chromium_for_tests()


def test_a_gankit_chromium_that_names_no_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CHROMIUM", str(tmp_path / "nothing"))
    with pytest.raises(pytest.fail.Exception, match="nothing is not a file"):
        headless.find_chromium()


def test_this_machine_finds_a_browser(chromium):
    """Here a Chromium is installed (or was just brought): the fixture names a file."""
    assert chromium.is_file()
