"""The README's promises: its API example runs as written, and CI runs its test command."""

from __future__ import annotations

import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def code_blocks(language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", README, flags=re.S)


def test_ci_runs_the_readme_test_command():
    bash = code_blocks("bash")
    test_command = bash[1].strip()
    assert "pytest" in test_command
    assert test_command in (ROOT / ".ci" / "run").read_text()


def test_setup_command_installs_and_runs_the_demo():
    setup = code_blocks("bash")[0].strip()
    assert setup.startswith("python3 -m venv .venv")
    assert "pip install" in setup and "gankit train" in setup


def test_api_example_runs(tmp_path, monkeypatch):
    example = next(block for block in code_blocks("python") if "gankit.build" in block)
    monkeypatch.chdir(tmp_path)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102
    run, again = namespace["run"], namespace["again"]
    assert namespace["x"].shape == (1000, 2)
    assert again.step == 600 and (tmp_path / "runs" / "api-demo" / "training.png").is_file()
    assert os.path.isfile(tmp_path / "runs" / "api-demo" / "config.yaml")
    assert run.step == 300


def test_image_api_example_runs():
    example = next(block for block in code_blocks("python") if '"digits8"' in block)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102
    digits = namespace["digits"]
    assert digits.step == 200 and digits.sample(16).shape == (16, 1, 8, 8)


def test_own_modules_example_runs():
    example = next(block for block in code_blocks("python") if "generator=G" in block)
    namespace: dict = {}
    exec(compile(example, "README.md", "exec"), namespace)  # noqa: S102
    mine = namespace["mine"]
    assert mine.step == 200 and mine.sample(5).shape == (5, 2)
    assert mine.config.model.generator == "given"
