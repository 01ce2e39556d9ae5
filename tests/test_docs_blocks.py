"""Every shell and Python block of README.md and docs/**/*.md runs as written (issue 31).

A page's blocks run in order in one working directory of their own, so a block may use what an
earlier block on the same page made (its run directory, a Python name): the Python blocks of a
page share one interpreter, kept alive between its blocks. The directory has the repository's
files (linked; ``docs`` and ``benchmarks`` copied, since blocks may write there; no ``.venv``),
the venv's ``gankit`` and ``python`` on PATH, ``PYTHONPATH=src``, ``GANKIT_DOCS_QUICK=1`` and
a HOME of its own. The conventions a page writes as HTML comments on the lines right before a block
(docs/contributing-docs.md) are:

- ``<!-- no-test: REASON -->``: the block is not run (the reason is required);
- ``<!-- quick: FLAGS -->``: FLAGS appended to every ``gankit train`` command of the block;
  ``<!-- quick COMMAND: FLAGS -->`` appends them to every COMMAND instead
  (``<!-- quick python benchmarks/small_data.py: --steps 20 -->``);
- ``<!-- setup: CODE -->``: CODE (shell or Python, as the block) runs first, unseen by readers;
- ``<!-- error: TEXT -->``: the block must fail, and TEXT must be in what it printed.

A ``console`` block runs its ``$ `` lines; its other lines are the output it shows, and each
must appear in what the commands printed. ``text``, ``json``, ``yaml`` and unlabelled blocks are
output or files, never run; the Learn chapters are notebooks, executed by the site build.
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
# The Learn chapters (jupytext notebooks) count too: the blocks in their Markdown cells
PAGES = [REPO / "README.md", *sorted((REPO / "docs").rglob("*.md")),
         *sorted((REPO / "docs" / "learn").glob("*.py"))]
RUN_LANGUAGES = {"bash": "shell", "sh": "shell", "console": "console", "python": "python"}
DIRECTIVES = ("no-test", "quick", "setup", "error")
FENCE = re.compile(r"^(?P<indent>\s*)(?P<fence>`{3,}|~{3,})\s*(?P<language>[\w+-]*)")
DIRECTIVE = re.compile(r"^\s*<!--\s*(?P<name>[a-z-]+)(?P<argument>[^:]*?)\s*(?::\s*(?P<value>.*?))?"
                       r"\s*-->\s*$")
BLOCK_TIMEOUT_S = 600
TOOLS = ("jq",)  # programs the pages use that are not Python's: a block needs them installed
COPIED = ("docs", "benchmarks")  # blocks may write here (benchmarks/results/, generated pages)
# .venv is never linked: a block's `python3 -m venv .venv` or `.venv/bin/pip` must not touch
# the venv the tests run in (the set-up commands are no-test blocks)
NOT_LINKED = {".git", ".venv", "runs", "outputs", "site", "build", ".cache", ".pytest_cache",
              ".ruff_cache", ".hypothesis"}


@dataclass
class Block:
    """One fenced block of a page, with the directives written above it."""

    page: str  # relative to the repository
    line: int  # of the opening fence, 1-based
    language: str  # shell, console or python
    code: str
    no_test: str | None = None
    quick: list[tuple[str, str]] = field(default_factory=list)  # (command, flags)
    setup: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def name(self) -> str:
        return f"{self.page}:{self.line}"


def directives_above(lines: list[str], fence_index: int) -> list[re.Match[str]]:
    """The directive comments on the lines right before a fence, top to bottom."""
    found = []
    at = fence_index - 1
    while at >= 0 and (match := DIRECTIVE.match(lines[at])) and match["name"] in DIRECTIVES:
        found.append(match)
        at -= 1
    return found[::-1]


def page_lines(path: Path) -> list[str]:
    """A page's Markdown lines; for a chapter (a jupytext ``.py``), the text of its comment
    lines (its Markdown cells), every other line blank so that line numbers stay the file's."""
    lines = path.read_text(encoding="utf-8").splitlines()
    if path.suffix != ".py":
        return lines
    return [line[2:] if line.startswith("# ") else "" for line in lines]


def page_blocks(path: Path) -> list[Block]:
    """The runnable blocks of one Markdown page, in order."""
    lines = page_lines(path)
    blocks, at = [], 0
    while at < len(lines):
        opening = FENCE.match(lines[at])
        if not opening:
            at += 1
            continue
        end = at + 1
        mark = re.escape(opening["fence"][0])
        closing = re.compile(rf"^\s*{mark}{{{len(opening['fence'])},}}\s*$")
        while end < len(lines) and not closing.match(lines[end]):
            end += 1
        language = RUN_LANGUAGES.get(opening["language"].lower())
        if language:
            indent = len(opening["indent"])  # a block in a list: its lines share the indent
            body = "\n".join(line[min(indent, len(line) - len(line.lstrip())):]
                             for line in lines[at + 1:end])
            block = Block(str(path.relative_to(REPO)), at + 1, language, body + "\n")
            for directive in directives_above(lines, at):
                add_directive(block, directive)
            blocks.append(block)
        at = end + 1
    return blocks


def add_directive(block: Block, directive: re.Match[str]) -> None:
    """Record one ``<!-- name: value -->`` comment on its block."""
    name, value = directive["name"], (directive["value"] or "").strip()
    argument = directive["argument"].strip()
    if name == "no-test":
        block.no_test = value
    elif name == "quick":
        block.quick.append((argument or "gankit train", value))
    elif name == "setup":
        block.setup.append(value)
    else:
        block.error = value


BLOCKS = [block for page in PAGES for block in page_blocks(page)]


def logical_lines(code: str) -> list[str]:
    """Shell lines with their backslash continuations joined."""
    out: list[str] = []
    pending = ""
    for line in code.splitlines():
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        out.append(pending + line)
        pending = ""
    if pending:
        out.append(pending)
    return out


def command_end(line: str, start: int) -> int:
    """Where the shell command starting at ``start`` ends: an unquoted ``#`` comment, pipe,
    ``;``, ``&`` or redirection, else the end of the line (trailing blanks left out)."""
    quote = None
    at = start
    while at < len(line):
        char = line[at]
        if quote:
            if char == quote:
                quote = None
        elif char in "'\"":
            quote = char
        elif char == "\\":
            at += 1
        elif char in "|;&<>" or (char == "#" and line[at - 1].isspace()):
            break
        at += 1
    return len(line[:at].rstrip())


def with_quick(code: str, quick: list[tuple[str, str]]) -> str:
    """The block with each directive's flags appended to every command it names."""
    if not quick:
        return code
    lines = []
    for line in logical_lines(code):
        for command, flags in quick:
            match = re.search(rf"(?<![\w./-]){re.escape(command)}(?![\w./-])", line)
            if match:
                end = command_end(line, match.end())
                line = f"{line[:end]} {flags}{line[end:]}"
        lines.append(line)
    return "\n".join(lines) + "\n"


def console_parts(code: str) -> tuple[str, list[str]]:
    """A console block's commands (its ``$ `` lines, with continuations) and shown output."""
    commands, shown, continuing = [], [], False
    for line in code.splitlines():
        if line.startswith("$ ") or continuing:
            commands.append(line[2:] if line.startswith("$ ") and not continuing else line)
            continuing = line.rstrip().endswith("\\")
        elif line.strip():
            shown.append(line.strip())
    return "\n".join(commands) + "\n", shown


def missing_tool(code: str) -> str | None:
    """A program of TOOLS that a shell block runs and this machine lacks, else None."""
    for tool in TOOLS:
        if re.search(rf"(^|[|;&(]\s*){tool}\b", code, re.M) and not shutil.which(tool):
            return tool
    return None


# The page's interpreter: runs each block it is sent in one namespace. Its replies go to a copy
# of its first stdout; fds 1 and 2 go to the block's log, so that what subprocesses and C code
# print lands there too and never in a reply.
PYTHON_DRIVER = r'''
import json, os, sys, traceback
replies = os.fdopen(os.dup(1), "w")
names = {"__name__": "__main__"}
for request in sys.stdin:
    request = json.loads(request)
    log = os.open(request["log"], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(log)
    try:
        exec(compile(request["code"], request["name"], "exec"), names)
        ok = True
    except BaseException:
        traceback.print_exc()
        ok = False
    sys.stdout.flush()
    sys.stderr.flush()
    print(json.dumps({"ok": ok}), file=replies, flush=True)
'''


class Workspace:
    """One page's working directory, its environment and its Python interpreter."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True)
        (root / "home").mkdir()
        for entry in REPO.iterdir():
            if entry.name in COPIED:
                shutil.copytree(entry, root / entry.name,
                                ignore=shutil.ignore_patterns("__pycache__"))
            elif entry.name not in NOT_LINKED:
                (root / entry.name).symlink_to(entry)
        venv = Path(sys.executable).parent
        self.env = {**os.environ, "PATH": f"{venv}{os.pathsep}{os.environ.get('PATH', '')}",
                    "PYTHONPATH": str(REPO / "src"), "HOME": str(root / "home"),
                    "GANKIT_DOCS_QUICK": "1", "MPLBACKEND": "Agg",
                    "PIP_DRY_RUN": "1"}  # a block's pip install changes no venv
        self.done = 0  # how many of the page's blocks have run here
        self.failed: list[str] = []
        self.python: subprocess.Popen[str] | None = None

    def run(self, block: Block) -> tuple[bool, str]:
        """Run one block (its setup first): whether it did what it should, and its output."""
        if block.language == "python":
            ok, output = self.run_python(block)
        else:
            ok, output = self.run_shell(block)
        if block.error is not None:
            return (not ok and block.error in output), output
        return ok, output

    def run_shell(self, block: Block) -> tuple[bool, str]:
        code, shown = with_quick(block.code, block.quick), []
        if block.language == "console":
            code, shown = console_parts(code)
        script = "".join(f"{line}\n" for line in block.setup) + code
        (self.root / "block.sh").write_text(script)
        process = subprocess.Popen(["bash", "-e", "-o", "pipefail", "block.sh"], cwd=self.root,
                                   env=self.env, stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            output = process.communicate(timeout=BLOCK_TIMEOUT_S)[0]
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)  # the block's commands too, not only bash
            output = process.communicate()[0]
            return False, output + f"\n[the block did not finish in {BLOCK_TIMEOUT_S} s]"
        if shown:  # a console block: what it shows is what it prints
            flat = " ".join(output.split())
            missing = [line for line in shown if " ".join(line.split()) not in flat]
            if missing:
                return False, output + f"\n[not printed: {missing[0]!r}]"
            return True, output
        return process.returncode == 0, output

    def run_python(self, block: Block) -> tuple[bool, str]:
        if self.python is None:
            self.python = subprocess.Popen(
                [sys.executable, "-u", "-c", PYTHON_DRIVER], cwd=self.root, env=self.env,
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True)
        log = self.root / "block.log"
        ok = True
        for code, name in [*((line, f"{block.name} setup") for line in block.setup),
                           (block.code, block.name)]:
            request = {"code": code, "name": name, "log": str(log)}
            self.python.stdin.write(json.dumps(request) + "\n")
            self.python.stdin.flush()
            ready, _, _ = select.select([self.python.stdout], [], [], BLOCK_TIMEOUT_S)
            reply = self.python.stdout.readline() if ready else ""
            if not reply:
                self.close()
                return False, log.read_text() + (
                    f"\n[the page's Python stopped, or ran over {BLOCK_TIMEOUT_S} s]")
            ok = json.loads(reply)["ok"]
            if not ok:
                break
        return ok, log.read_text()

    def close(self) -> None:
        if self.python is not None:
            self.python.kill()
            self.python.wait()
            self.python = None


@pytest.fixture(scope="module")
def workspaces(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Workspace]]:
    """One workspace per page, made when its first block runs."""
    made: dict[str, Workspace] = {}
    yield made
    for workspace in made.values():
        workspace.close()


def test_every_directive_is_complete_and_where_a_block_reads_it():
    """A no-test gives its reason, quick gives flags, and no directive is left above a line
    that is not a block (it would be silently ignored)."""
    problems = [f"{block.name}: no-test needs a reason (<!-- no-test: REASON -->)"
                for block in BLOCKS if block.no_test == ""]
    problems += [f"{block.name}: quick needs flags" for block in BLOCKS
                 for _, flags in block.quick if not flags]
    for page in PAGES:
        lines = page_lines(page)
        for at, line in enumerate(lines):
            match = DIRECTIVE.match(line)
            if not match or match["name"] not in DIRECTIVES:
                continue
            after = next((later for later in lines[at + 1:] if not DIRECTIVE.match(later)), "")
            opening = FENCE.match(after)
            if not opening or opening["language"].lower() not in RUN_LANGUAGES:
                problems.append(f"{page.relative_to(REPO)}:{at + 1}: {match['name']} is not "
                                f"right above a bash, sh, console or python block")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("block", BLOCKS, ids=[block.name for block in BLOCKS])
def test_the_block_runs(block: Block, workspaces: dict[str, Workspace],
                        tmp_path_factory: pytest.TempPathFactory) -> None:
    if block.no_test:
        pytest.skip(f"no-test: {block.no_test}")
    if tool := missing_tool(block.code):
        pytest.skip(f"{tool} is not installed: apt-get install -y {tool}")
    if block.page not in workspaces:
        workspaces[block.page] = Workspace(tmp_path_factory.mktemp("page") / "repo")
    workspace = workspaces[block.page]
    page = [other for other in BLOCKS if other.page == block.page]
    # earlier blocks of the page first, when this one was picked alone (-k)
    for earlier in page[workspace.done:page.index(block)]:
        if not earlier.no_test and not missing_tool(earlier.code) \
                and not workspace.run(earlier)[0]:
            workspace.failed.append(earlier.name)
    started = time.perf_counter()
    ok, output = workspace.run(block)
    workspace.done = page.index(block) + 1
    took = time.perf_counter() - started
    if not ok:
        workspace.failed.append(block.name)
    before = f" (earlier blocks failed: {', '.join(workspace.failed[:-1])})" \
        if len(workspace.failed) > 1 else ""
    expected = f" (it should fail printing {block.error!r})" if block.error else ""
    tail = "\n".join(output.strip().splitlines()[-15:])
    assert ok, f"{block.name} failed after {took:.1f} s{expected}{before}:\n{tail}"


def test_quick_flags_go_to_the_end_of_each_named_command():
    code = ("gankit train ring8 --out runs/a   # a comment\n"
            "gankit train grid25 \\\n    --set train.steps=600 | jq .w1\n"
            "gankit eval runs/a\n")
    assert with_quick(code, [("gankit train", "--set train.steps=5")]) == (
        "gankit train ring8 --out runs/a --set train.steps=5   # a comment\n"
        "gankit train grid25      --set train.steps=600 --set train.steps=5 | jq .w1\n"
        "gankit eval runs/a\n")
    assert with_quick("nice -n 5 python benchmarks/x.py --a '#b'\n",
                      [("python benchmarks/x.py", "--steps 2")]) == \
        "nice -n 5 python benchmarks/x.py --a '#b' --steps 2\n"


def test_a_page_shares_its_directory_and_its_python_between_blocks(tmp_path):
    workspace = Workspace(tmp_path / "repo")
    try:
        made = Block("page.md", 1, "shell", "mkdir -p in && echo made > in/file\n")
        names = Block("page.md", 5, "python", "import subprocess\nx = open('in/file').read()\n"
                      "subprocess.run(['echo', 'from a child'])\n")
        used = Block("page.md", 9, "python", "assert x == 'made\\n'\nprint('x is', x)\n")
        shown = Block("page.md", 13, "console", "$ cat in/file\nmade\n")
        wrong = Block("page.md", 17, "console", "$ cat in/file\nother\n")
        failing = Block("page.md", 21, "shell", "true\nfalse\ntrue\n")
        expected = Block("page.md", 25, "shell", "gankit train no-such-config\n",
                         error="no-such-config")
        assert workspace.run(made)[0]
        assert workspace.run(names) == (True, "from a child\n")
        assert workspace.run(used) == (True, "x is made\n\n")
        assert workspace.run(shown)[0] and not workspace.run(wrong)[0]
        assert not workspace.run(failing)[0]
        assert workspace.run(expected)[0]
        assert not workspace.run(Block("page.md", 29, "python", "raise ValueError('no')\n"))[0]
        assert not (tmp_path / "repo" / ".venv").exists()
        assert (tmp_path / "repo" / "src").resolve() == REPO / "src"
    finally:
        workspace.close()


def test_a_block_that_pipes_into_a_missing_jq_is_skipped(monkeypatch):
    monkeypatch.setenv("PATH", "")
    assert missing_tool("gankit runs --json | jq -r .name\n") == "jq"
    assert missing_tool("gankit train ring8  # no jq here, only its name\n") is None


def test_directives_are_read_from_the_lines_above_a_block(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    page = tmp_path / "page.md"
    page.write_text("text\n<!-- no-test: needs a GPU -->\n```bash\ntorchrun x\n```\n\n"
                    "<!-- quick: --set train.steps=3 -->\n<!-- setup: mkdir in -->\n"
                    "```sh\ngankit train ring8\n```\n```text\nout\n```\n"
                    "- a list\n\n  <!-- error: must be one of -->\n  ```console\n"
                    "  $ gankit train x\n  gankit: error: x\n  ```\n"
                    "```python\ndef f():\n    return 1\n```\n")
    first, second, third, fourth = page_blocks(page)
    assert (first.no_test, first.line, first.code) == ("needs a GPU", 3, "torchrun x\n")
    assert second.quick == [("gankit train", "--set train.steps=3")]
    assert second.setup == ["mkdir in"] and second.line == 9
    assert third.language == "console" and third.error == "must be one of"
    assert console_parts(third.code) == ("gankit train x\n", ["gankit: error: x"])
    assert fourth.code == "def f():\n    return 1\n"
