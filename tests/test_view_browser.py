"""The view end to end in a real headless Chromium (Debian's ``chromium``, driven by
Playwright): the page trains, its points and curves move, a data set drawn with the mouse is
trained on, a bad value is shown on the page, and a screenshot is kept.

The browser is found, or installed when the tests run as root on Debian, by the ``chromium``
fixture (tests/headless.py); elsewhere the test is skipped with what to do.
"""

from __future__ import annotations

import copy
import hashlib

import pytest

from conftest import tiny_dict
from gankit.evaluation import palette
from gankit.view import browser
from headless import launched
from view_helpers import WAIT_S, server_thread

BASE = tiny_dict(data={"batch_size": 64})
TIMEOUT_MS = WAIT_S * 1000


def canvas_digest(page, selector: str) -> str:
    data = page.evaluate(f"document.querySelector('{selector}').toDataURL()")
    return hashlib.sha256(data.encode()).hexdigest()


def curve_lengths(page) -> dict[str, int]:
    return page.evaluate("""Object.fromEntries(Object.entries(gankitView.curves).flatMap(
        ([chart, curves]) => Object.entries(curves).map(([name, points]) =>
            [chart + '/' + name, points.length])))""")


def test_the_page_trains_draws_and_learns_a_drawn_data_set(tmp_path, chromium):
    with launched(chromium) as headless, \
            server_thread(copy.deepcopy(BASE), tmp_path / "runs") as url:
        page = headless.new_page(viewport={"width": 1340, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page_errors: list[str] = []
        page.on("pageerror", lambda err: page_errors.append(str(err)))
        page.goto(url)
        page.wait_for_function("gankitView.frames > 0 && gankitView.shown > 0")
        start_plot = canvas_digest(page, "#plane")
        # real and generated points in the snapshots' colours (gankit.evaluation.palette)
        assert page.evaluate("[paletteColour('real'), paletteColour('fake')]") == [
            palette.REAL, palette.GENERATED]
        # D's landscape in the snapshots' colour map: its ends and middle
        rgb = [[int(hex_[at:at + 2], 16) for at in (1, 3, 5)] for hex_ in palette.LANDSCAPE]
        assert page.evaluate("[0, 0.5, 1].map((t) => heatColour(t, landscapeColours()))") \
            == rgb
        start_fake = page.evaluate("Array.from(gankitView.frame.arrays.fake.slice(0, 20))")

        # play: the counter passes 100, the points move, the metric curves grow
        page.click("#play")
        page.wait_for_function("gankitView.step > 100", timeout=TIMEOUT_MS)
        page.wait_for_function("(gankitView.curves.w1?.W1?.length ?? 0) >= 2")
        page.click("#play")
        page.wait_for_function("!gankitView.playing")
        assert canvas_digest(page, "#plane") != start_plot
        assert page.evaluate("Array.from(gankitView.frame.arrays.fake.slice(0, 20))") \
            != start_fake
        curves = curve_lengths(page)
        assert curves["losses/d_loss"] > 5 and curves["losses/g_loss"] > 5
        assert curves["w1/W1"] >= 2 and curves["modes/modes of 8"] >= 2
        assert curves["acceptance/acceptance"] >= 2
        counter = page.inner_text("#counter")
        assert counter.startswith("step ") and int(counter.split()[1]) > 100

        # a bad value typed into the form: one line on the page, the server goes on
        page.fill("#lr_g", "-1")
        page.click("#apply")
        page.wait_for_selector("#messages .error")
        assert "lr_g must be a number in (0, 1], got -1" in page.inner_text("#messages")
        page.fill("#lr_g", "0.001")

        # draw a data set with the mouse and train on it
        page.select_option("#dataset", "drawn")
        page.wait_for_function("gankitView.drawing")
        box = page.locator("#plane").bounding_box()
        page.mouse.move(box["x"] + 150, box["y"] + 150)
        page.mouse.down()
        for i in range(40):  # a diagonal stroke
            page.mouse.move(box["x"] + 150 + 8 * i, box["y"] + 150 + 6 * i)
        page.mouse.up()
        drawn = page.evaluate("gankitView.drawn.length")
        assert drawn >= 40 and page.inner_text("#drawn-count") == f"{drawn} points"
        page.click("#apply")
        page.wait_for_function("gankitView.settings?.dataset === 'drawn' && "
                               "gankitView.frames > 0 && gankitView.generation === 2")
        # the real points the page now shows are drawn points (the data set is the drawing)
        assert page.evaluate("""gankitView.real.every(([x, y]) => gankitView.drawn.some(
            ([u, v]) => Math.abs(u - x) < 1e-4 && Math.abs(v - y) < 1e-4))""")
        page.click("#play")
        page.wait_for_function("gankitView.step > 50 && gankitView.generation === 2")
        page.click("#play")
        page.wait_for_function("!gankitView.playing")
        page.screenshot(path=str(tmp_path / "view.png"))
        page.close()
    assert (tmp_path / "view.png").stat().st_size > 20_000
    assert not page_errors


def test_a_missing_browser_is_named_with_what_installs_it(tmp_path, monkeypatch):
    monkeypatch.setenv("GANKIT_CHROMIUM", str(tmp_path / "no-chromium"))
    with pytest.raises(browser.BrowserUnavailable, match="no-chromium is not a file"):
        browser.chromium_path()
    monkeypatch.delenv("GANKIT_CHROMIUM")
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(browser.BrowserUnavailable, match="apt-get install -y chromium"):
        browser.chromium_path()
