"""The benchmark tables on the documentation site are the JSON files' figures, and stay so.

docs/generate.py rewrites every ``<!-- generated: benchmark-... -->`` block from
benchmarks/results/*.json (renderers in docs/generators/benchmarks.py); these tests check that
the pages hold what the files give now, that a changed figure on either side is caught, and
that every results file is shown somewhere.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
RESULTS = ROOT / "benchmarks" / "results"


def load(path: Path) -> ModuleType:
    """A docs script as a module, loaded the way generate.py loads its renderers."""
    spec = importlib.util.spec_from_file_location(f"test_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = load(DOCS / "generate.py")
benchmarks = load(DOCS / "generators" / "benchmarks.py")


def blocks() -> list[tuple[str, str, str, str]]:
    """(page, kind, arguments, body) of every benchmark block on the site's pages."""
    found = []
    for path in sorted(DOCS.rglob("*.md")):
        for match in generate.BLOCK.finditer(path.read_text()):
            _, kind, arguments, body, _ = match.groups()
            if kind in benchmarks.RENDERERS:
                found.append((str(path.relative_to(DOCS)), kind, arguments.strip(), body))
    return found


def test_every_benchmark_block_is_what_its_json_gives_now():
    assert blocks(), "no page has a generated benchmark block"
    for page, kind, arguments, body in blocks():
        expected = benchmarks.RENDERERS[kind](arguments).rstrip("\n") + "\n"
        assert body == expected, f"{page}: {kind} {arguments} is stale (python docs/generate.py)"


def test_the_renderers_are_the_ones_generate_py_finds():
    kinds = generate.renderers()
    assert {"benchmark-table", "benchmark-hardware"} <= set(kinds)


def test_every_results_file_is_on_a_page_or_excluded_with_a_reason():
    shown = {benchmarks.TABLES[arguments].file if kind == "benchmark-table" else arguments
             for _, kind, arguments, _ in blocks()}
    files = {path.name for path in RESULTS.glob("*.json")}
    assert all(reason.strip() for reason in benchmarks.EXCLUDED.values())
    assert files - shown - set(benchmarks.EXCLUDED) == set()
    assert set(benchmarks.EXCLUDED) <= files, "an exclusion names a file that is gone"


def test_every_declared_table_is_on_a_page():
    used = {arguments for _, kind, arguments, _ in blocks() if kind == "benchmark-table"}
    assert set(benchmarks.TABLES) - used == set()


def test_a_changed_figure_on_a_page_is_stale(tmp_path):
    page = DOCS / "benchmarks" / "image-quality.md"
    text = page.read_text()
    fid = f"{json.loads((RESULTS / 'image_quality.json').read_text())['non-saturating']['fid']:.1f}"
    assert f"| {fid} |" in text
    copy = tmp_path / "image-quality.md"
    copy.write_text(text.replace(f"| {fid} |", "| 99.9 |", 1))
    kinds = {kind: render for kind, render in generate.renderers().items()
             if kind in benchmarks.RENDERERS}
    assert generate.generate(copy.read_text(), kinds, "copy") == text


def repository_copy(tmp_path: Path) -> Path:
    """A repository of one page, the generator and the results files, to change at will."""
    (tmp_path / "docs" / "generators").mkdir(parents=True)
    (tmp_path / "docs" / "benchmarks").mkdir()
    shutil.copy(DOCS / "generate.py", tmp_path / "docs")
    shutil.copy(DOCS / "generators" / "benchmarks.py", tmp_path / "docs" / "generators")
    shutil.copy(DOCS / "benchmarks" / "image-quality.md", tmp_path / "docs" / "benchmarks")
    shutil.copytree(RESULTS, tmp_path / "benchmarks" / "results",
                    ignore=shutil.ignore_patterns("*.png"))
    return tmp_path


def test_a_changed_figure_in_a_json_file_makes_generate_check_fail(tmp_path, capsys):
    repository = repository_copy(tmp_path)
    copied = load(repository / "docs" / "generate.py")
    assert copied.main(["--check"]) == 0

    results = repository / "benchmarks" / "results" / "image_quality.json"
    records = json.loads(results.read_text())
    records["non-saturating"]["fid"] = 123.456
    results.write_text(json.dumps(records))
    assert copied.main(["--check"]) == 1
    assert "benchmarks/image-quality.md" in capsys.readouterr().err

    page = repository / "docs" / "benchmarks" / "image-quality.md"
    assert copied.main([]) == 0
    assert "| 123.5 |" in page.read_text()
    assert copied.main(["--check"]) == 0


def test_an_entry_missing_from_its_file_is_an_error_naming_it(tmp_path, monkeypatch):
    shutil.copytree(RESULTS, tmp_path, dirs_exist_ok=True, ignore=shutil.ignore_patterns("*.png"))
    records = json.loads((tmp_path / "conditional.json").read_text())
    del records["caae, z_weight 0.1"]
    (tmp_path / "conditional.json").write_text(json.dumps(records))
    monkeypatch.setattr(benchmarks, "RESULTS", tmp_path)
    with pytest.raises(SystemExit, match="conditional.json has no entry 'caae, z_weight 0.1'"):
        benchmarks.render_table("caae")
    with pytest.raises(SystemExit, match="unknown benchmark table 'nope'"):
        benchmarks.render_table("nope")


def test_numbers_look_the_same_in_every_table():
    number = benchmarks.number
    assert [number(0.9846, "%"), number(1.6643, "x"), number(3550, ",d"),
            number(100.10017, ".1f")] == ["98.5%", "1.66x", "3,550", "100.1"]
    assert number(None, ".1f") == "" and number("bf16 (precision: auto)", ".2f") == ""
    assert number("fp32", "") == "fp32"
    assert [benchmarks.significant(v) for v in (0.17669, 21.79, 231.8, 2340.47)] == [
        "0.177", "21.8", "232", "2,340"]


def test_a_seed_without_a_figure_is_named_not_averaged():
    summary = benchmarks.over_seeds("reverse_kl", ".3f")
    seeds = {"0": {"reverse_kl": 0.1}, "1": {"reverse_kl": 0.3}, "2": {"reverse_kl": None}}
    assert summary({"seeds": seeds}) == "none on seed 2"
    del seeds["2"]
    assert summary({"seeds": seeds}) == "0.200 ± 0.141"  # sample standard deviation


def test_hardware_lines_name_each_machine_once(tmp_path, monkeypatch):
    machine = {"cpu": "AMD EPYC", "torch": "2.13.0+cpu", "cpu_capability": "AVX2",
               "onednn_bf16": False, "threads": 1, "onednn_max_cpu_isa": "AVX2"}
    (tmp_path / "x.json").write_text(json.dumps(
        {"a": {"hardware": machine}, "b": {"hardware": machine}, "c": {"fid": 1.0}}))
    (tmp_path / "old.json").write_text(json.dumps({"a": {"fid": 1.0}}))
    monkeypatch.setattr(benchmarks, "RESULTS", tmp_path)
    assert benchmarks.render_hardware("x.json").splitlines()[2:] == [
        "- AMD EPYC, torch 2.13.0+cpu, CPU capability AVX2, no native bf16, 1 torch thread, "
        "ONEDNN_MAX_CPU_ISA=AVX2 (2 entries)"]
    assert "records no hardware" in benchmarks.render_hardware("old.json")
