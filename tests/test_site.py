"""The documentation site, built and looked at like a reader would (issue 31).

The site is built once per session (``mkdocs build --strict`` in quick mode: the Learn chapters
train for fewer steps), unless ``GANKIT_SITE`` names a site ``.ci/run`` already built that way.
``--strict`` with mkdocs.yml's ``validation:`` makes every unresolved internal link or anchor an
error; these tests add what mkdocs does not check: every image and script the pages load is in
the site (nothing from the network), and a headless Chromium shows the home page and a Learn
chapter with their figures and maths. Its screenshots are kept in build/screenshots/.
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from html.parser import HTMLParser
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import pytest

from headless import launched

REPO = Path(__file__).resolve().parents[1]
SCREENSHOTS = REPO / "build" / "screenshots"
CHAPTER = "learn/divergences/"  # the chapter the browser opens
TIMEOUT_MS = 60_000
LOADED = ("tag", "attribute")  # what a page loads by itself: img/script src, link href


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The built site: ``$GANKIT_SITE``, else built here (strict, quick chapters)."""
    if built := os.environ.get("GANKIT_SITE"):
        if not (Path(built) / "index.html").is_file():
            pytest.fail(f"GANKIT_SITE={built} has no index.html: build it with "
                        f"'GANKIT_DOCS_QUICK=1 mkdocs build --strict -d {built}'", pytrace=False)
        return Path(built).resolve()
    out = tmp_path_factory.mktemp("site")
    source = str(REPO / "src")
    env = {**os.environ, "GANKIT_DOCS_QUICK": "1", "PYTHONPATH": os.pathsep.join(
        [source, *filter(None, [os.environ.get("PYTHONPATH")])])}
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(out)],
                            cwd=REPO, env=env, capture_output=True, text=True)
    if result.returncode:
        tail = "\n".join((result.stdout + result.stderr).strip().splitlines()[-20:])
        pytest.fail(f"mkdocs build --strict failed:\n{tail}", pytrace=False)
    return out


class Loads(HTMLParser):
    """The URLs a page loads by itself: ``<img src>``, ``<script src>``, ``<link href>``."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[tuple[str, str]] = []  # (tag, url)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        wanted = {"img": "src", "script": "src", "link": "href", "source": "src"}.get(tag)
        for name, value in attrs:
            if name == wanted and value:
                self.urls.append((tag, value))


def page_url(site: Path, html: Path) -> str:
    return "/" + html.relative_to(site).as_posix()


def resolves(site: Path, html: Path, url: str) -> bool:
    """Whether a site-relative URL of a page names a file of the site."""
    path = unquote(urlsplit(urljoin(page_url(site, html), url)).path).lstrip("/")
    target = site / path
    return (target / "index.html").is_file() if path.endswith("/") or target.is_dir() \
        else target.is_file()


def test_every_page_of_the_nav_is_built(site: Path) -> None:
    sources = [*(REPO / "docs").rglob("*.md"), *(REPO / "docs" / "learn").glob("*.py")]
    missing = []
    for source in sources:
        relative = source.relative_to(REPO / "docs").with_suffix("")
        page = relative.parent if relative.name in ("index", "README") else relative
        if not (site / page / "index.html").is_file():
            missing.append(str(source.relative_to(REPO)))
    assert not missing, f"pages not in the built site: {missing}"


def loaded_problems(site: Path) -> tuple[list[str], list[str]]:
    """What the pages load from the network, and what they load that the site lacks."""
    remote, broken = [], []
    for html in sorted(site.rglob("*.html")):
        parser = Loads()
        parser.feed(html.read_text(encoding="utf-8"))
        for tag, url in parser.urls:
            where = f"{html.relative_to(site)}: <{tag}> {url[:80]}"
            if url.startswith(("http://", "https://", "//")):
                remote.append(where)
            elif not url.startswith("data:") and not resolves(site, html, url):
                broken.append(where)
    return remote, broken


def test_images_and_scripts_come_from_the_site_itself(site: Path) -> None:
    """Every ``<img>``, ``<script>`` and ``<link>`` a page loads is a file of the site or a
    data: URI: the site works offline and shows every picture it names."""
    remote, broken = loaded_problems(site)
    assert not remote, "pages load from the network:\n" + "\n".join(remote[:20])
    assert not broken, "pages load files the site lacks:\n" + "\n".join(broken[:20])


def test_a_missing_image_and_a_cdn_script_are_found(tmp_path: Path) -> None:
    (tmp_path / "guide").mkdir()
    (tmp_path / "guide" / "plot.png").write_bytes(b"png")
    (tmp_path / "guide" / "index.html").write_text(
        '<img src="plot.png"><img src="../guide/plot.png"><img src="data:image/png;base64,AA">'
        '<img src="gone.png"><script src="https://cdn.example/x.js"></script>'
        '<link rel="stylesheet" href="../assets/site.css">')
    remote, broken = loaded_problems(tmp_path)
    assert remote == ["guide/index.html: <script> https://cdn.example/x.js"]
    assert broken == ["guide/index.html: <img> gone.png",
                      "guide/index.html: <link> ../assets/site.css"]


@pytest.fixture(scope="session")
def served(site: Path) -> Iterator[str]:
    """The built site over HTTP on 127.0.0.1 (MathJax loads its parts by URL)."""

    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0),
                                 functools.partial(Quiet, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


SHOWN = """() => {
    const content = document.querySelector('.md-content') || document.body;
    const images = Array.from(content.querySelectorAll('img'));
    return {
        images: images.length,
        unloaded: images.filter((img) => !(img.naturalWidth > 0))
            .map((img) => img.src.slice(0, 80)),
        maths: content.querySelectorAll('.MathJax, .MathJax_Display').length,
        mathErrors: document.querySelectorAll('.MathJax_Error, .merror').length,
        rawMaths: Array.from(content.querySelectorAll('.arithmatex')).filter(
            (node) => !node.querySelector('.MathJax, .MathJax_Display, .MathJax_Preview')).length,
    };
}"""


def look_at(chromium: Path, url: str, screenshot: Path) -> dict:
    """Open ``url``, wait for MathJax and every image, save a full-page screenshot, and say
    what the page shows (images, unloaded ones, maths errors) and what it asked the network."""
    outside: list[str] = []
    errors: list[str] = []
    with launched(chromium) as headless:
        page = headless.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(TIMEOUT_MS)
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.on("response", lambda response: errors.append(f"{response.status} {response.url}")
                if response.status >= 400 else None)
        local = url.split("/", 3)[:3]

        def only_local(route: object) -> None:
            if route.request.url.split("/", 3)[:3] == local:
                route.continue_()
            else:
                outside.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        page.goto(url)
        page.evaluate("document.querySelectorAll('img[loading=lazy]').forEach("
                      "(img) => { img.loading = 'eager'; })")
        page.wait_for_function("window.MathJax && MathJax.isReady")
        page.evaluate("new Promise((done) => MathJax.Hub.Queue(() => done(true)))")
        page.wait_for_function("Array.from(document.images).every((img) => img.complete)")
        shown = page.evaluate(SHOWN)
        screenshot.parent.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot), full_page=True)
        page.close()
    print(f"screenshot: {screenshot}")
    return {**shown, "outside": outside, "errors": errors}


def test_the_home_page_renders_offline(served: str, chromium: Path) -> None:
    shown = look_at(chromium, served, SCREENSHOTS / "home.png")
    assert not shown["outside"] and not shown["errors"], shown
    assert not shown["unloaded"] and not shown["mathErrors"], shown
    assert (SCREENSHOTS / "home.png").stat().st_size > 10_000


def test_a_learn_chapter_shows_its_figures_and_maths(served: str, chromium: Path) -> None:
    name = CHAPTER.strip("/").replace("/", "-")
    shown = look_at(chromium, served + CHAPTER, SCREENSHOTS / f"{name}.png")
    assert not shown["outside"] and not shown["errors"], shown
    assert shown["images"] >= 1, f"{CHAPTER} shows no figure"
    assert not shown["unloaded"], f"images that did not load: {shown['unloaded']}"
    assert shown["maths"] >= 1, f"{CHAPTER} shows no typeset formula"
    assert not shown["mathErrors"] and not shown["rawMaths"], shown
