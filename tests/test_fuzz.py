"""Hostile input through the command line's entry point, ``gankit.commandline.cli.main``: config
files and ``--set`` values built by mutating every key of the schema, whole files of the wrong
shape, and the flags of ``sample`` and ``eval``. Whatever comes in, the answer is exit status 0,
or 2 with exactly one line ``gankit: error: ...`` on stderr, quickly; nothing escapes as a
traceback.

The cases are drawn with ``random.Random(0)``, so a failure names a case that reruns the same.
"""

from __future__ import annotations

import dataclasses
import random
import time
import typing
from pathlib import Path

import pytest
import yaml

from conftest import TINY, config_sections
from gankit.commandline.cli import main
from gankit.configuration.reading import MAX_TEXT
from gankit.configuration.schema import INT64_RANGE
from gankit.configuration.yaml_io import load_yaml
from gankit.recipes import RECIPES
from test_config import billion_laughs

# --- the schema, walked ------------------------------------------------------------------------


def schema() -> dict[str, dict[str, tuple[type, tuple[int, int] | None]]]:
    """section -> key -> (type, int bounds): the shared sections and every recipe's options."""
    out = {}
    for section, cls in config_sections().items():
        types = typing.get_type_hints(cls)
        out[section] = {f.name: (types[f.name], f.metadata.get("range", INT64_RANGE)
                                 if types[f.name] is int else None)
                        for f in dataclasses.fields(cls)}
    return out


SCHEMA = schema()


# Bad values as YAML text, the same text in a file and after --set KEY=.
POOL = [
    # wrong types and empties
    '"x"', "true", "no", "[1, 2]", "{a: 1}", "null", "~", "", '""', "[]", "{}",
    # numbers written as strings, and strings that look like numbers
    '"2e-4"', "'100'", '"1"', "'.5'", "nan", "inf", "1e", "0x", "1_0_", "1:30",
    # huge, negative, not finite
    "9" * 4000, "-" + "9" * 4000, "0x" + "f" * 1000, str(2**63), str(2**64), str(-(2**63) - 1),
    str(2**70), "-1", "0", "-1e-4", ".nan", ".inf", "-.inf", "1e400", "-1e400", "1e-400",
    # nesting and aliases
    "[" * 2000 + "]" * 2000, "{a: " * 500 + "1" + "}" * 500, billion_laughs(), "&r [*r]",
    "*undefined", "&s {k: *s}",
    # text: unicode, control characters, long, YAML's odd corners
    '"\\u00fc\\u2028\\u00e9"', '"\\0"', '"a\\nb"', '"\\t"', "a" * 5000, "a" * (MAX_TEXT - 1),
    "2024-13-45", "2024-01-05", "!!bool maybe", "!!float x", "!!python/object:os.system x",
    "!!binary Zm9v", "!!set {a, b}", "@x", "`x", "%x", "- a", "? x", "'unterminated", "[1,",
]
NAMES = ["ring8", "mnist5k", "image-folder", "given", "wgan-gp", "dcgan", "began", "x:y", ""]


def bad_values(kind: type, bounds: tuple[int, int] | None) -> list[str]:
    """The pool, plus values just inside and outside this key's bounds and names of each
    registry (a name valid for one key is a bad value for another)."""
    edges = [] if bounds is None else [str(v) for v in (bounds[0] - 1, bounds[0], bounds[1],
                                                        bounds[1] + 1)]
    return POOL + edges + (NAMES if kind is str else [])


# --- building a case ---------------------------------------------------------------------------


def config_text(sections: dict[str, dict[str, str]], top: dict[str, str]) -> str:
    """A config file from YAML text per key: ``top`` lines first, then block sections."""
    lines = [f"{key}: {value}" for key, value in top.items()]
    for section, keys in sections.items():
        lines.append(f"{section}:")
        lines += [f"  {key}: {value}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


def tiny_text() -> dict[str, dict[str, str]]:
    """TINY as YAML text per key (safe_dump of each value)."""
    return {section: {key: yaml.safe_dump(value, default_flow_style=True).strip()
                      .removesuffix("...").strip() for key, value in keys.items()}
            for section, keys in TINY.items() if isinstance(keys, dict)}


def key_cases(rng: random.Random) -> list[tuple[str, str, list[str]]]:
    """For every key of the schema, bad values in a file and after --set: (id, text, sets)."""
    cases = []
    for section, keys in SCHEMA.items():
        recipe = section if section in RECIPES else "gan"
        for key, (kind, bounds) in keys.items():
            values = bad_values(kind, bounds)
            for value in rng.sample(values, 4):
                sections = tiny_text()
                sections.setdefault(section, {})[key] = value
                cases.append((f"file {section}.{key}={value[:30]!r}",
                              config_text(sections, {"recipe": recipe}), []))
            for value in rng.sample(values, 2):
                if len(value) <= MAX_TEXT:  # longer: refused before YAML, tested once below
                    cases.append((f"--set {section}.{key}={value[:30]!r}",
                                  config_text(tiny_text(), {"recipe": recipe}),
                                  [f"{section}.{key}={value}"]))
    return cases


def mixed_cases(rng: random.Random, n: int) -> list[tuple[str, str, list[str]]]:
    """Several mutations at once, in the file and on the command line."""
    keys = [(s, k, bad_values(*spec)) for s, ks in SCHEMA.items() for k, spec in ks.items()]
    cases = []
    for i in range(n):
        sections = tiny_text()
        sets = []
        for section, key, values in rng.sample(keys, 3):
            sections.setdefault(section, {})[key] = rng.choice(values)
        for section, key, values in rng.sample(keys, rng.randint(0, 2)):
            sets.append(f"{section}.{key}={rng.choice([v for v in values if len(v) <= MAX_TEXT])}")
        cases.append((f"mixed {i}", config_text(sections, {"recipe": rng.choice(
            [*RECIPES.names(), '"gan"', "[gan]", "null"])}), sets))
    return cases


def shape_cases(folder: Path) -> list[tuple[str, str | bytes, list[str]]]:
    """Whole files of the wrong shape, base chains and odd --set strings."""
    sections = [name for name in SCHEMA if name not in RECIPES]
    cases: list[tuple[str, str | bytes, list[str]]] = [
        (f"top-level {text!r}", text, []) for text in
        ["", "[]", "- a\n- b\n", "3", "x", "null", "true", '""', "---\n---\n", "? [a]\n: b\n",
         billion_laughs(), "&r [*r]", "[" * 10_000 + "]" * 10_000, "{}", "base: ring8"]]
    for section in [*sections, "began", "relativistic", "unknown"]:
        for value in ["x", "[1]", "null", "3", "", "[]", billion_laughs(), "&r {k: *r}"]:
            cases.append((f"section {section}: {value[:20]!r}",
                          f"recipe: {'began' if section == 'began' else 'gan'}\n"
                          f"{section}: {value}\n", []))
            cases.append((f"base ring8-wgan, {section}: {value[:20]!r}",
                          f"base: ring8-wgan\n{section}: {value}\n", []))
    (folder / "bad-base.yaml").write_text("train: 5\n")
    (folder / "loop.yaml").write_text("base: loop.yaml\n")
    (folder / "c0.yaml").write_text("base: ring8\n")
    for i in range(1, 40):
        (folder / f"c{i}.yaml").write_text(f"base: c{i - 1}.yaml\n")
    for base in ["bad-base.yaml", "loop.yaml", "c39.yaml", "c20.yaml", "nope", "5", "[a]", "''",
                 "..", "ring8-nope", "ring8-wgan", "losses/wgan", str(folder)]:
        cases.append((f"base {base}", f"base: {base}\ntrain: {{steps: 3}}\n", []))
    cases += [
        ("BOM", "\ufeffbase: ring8\n", []), ("tab", "train:\n\tsteps: 1\n", []),
        ("non-UTF-8", b"train: {steps: \xff}\n", []), ("NUL", "train: {steps: 1\x00}\n", []),
    ]
    tiny = config_text(tiny_text(), {})
    for pair in ["=", "a..b=1", ".x=1", "train.=1", "train.steps.x=1", "train=1", "x",
                 "tr\u00e4in.st\u00e9ps=\u2603", "train.device=cpu\x00x", "\x00=1",
                 "data.name=" + "a" * 10**6, "train.steps=" + "9" * 5000, "=" * 100,
                 "train.steps=1=2", "train.lr_d=2e-4", "train.lr_d='2e-4'", "recipe=began",
                 "data.path=/tmp", "data.image_size=32", "data.name=image-folder"]:
        cases.append((f"--set {pair[:30]!r}", tiny, [pair]))
    return cases


def all_cases(folder: Path) -> list[tuple[str, str | bytes, list[str]]]:
    rng = random.Random(0)
    return key_cases(rng) + mixed_cases(rng, 120) + shape_cases(folder)


# --- running a case ----------------------------------------------------------------------------


def run_cli(capsys, argv: list[str]) -> tuple[int, str, str]:
    """``main(argv)``: its status, stdout and stderr (anything it raises fails the test)."""
    status = main(argv)
    out = capsys.readouterr()
    return status, out.out, out.err


def assert_clean(case: str, status: int, err: str) -> None:
    assert status in (0, 2), (case, status, err)
    if status == 2:
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("gankit: error: "), (case, err[:500])
        # short too: a message shows a value of at most MAX_TEXT characters, never a megabyte
        assert len(lines[0]) < MAX_TEXT + 1000, (case, lines[0][:200])


def test_fuzzed_config_files_and_overrides(tmp_path, capsys):
    cases = all_cases(tmp_path)
    assert len(cases) > 500
    started, statuses = time.perf_counter(), []
    for i, (case, text, sets) in enumerate(cases):
        path = tmp_path / f"case{i}.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode())
        argv = ["config", "show", str(path)] + [a for pair in sets for a in ("--set", pair)]
        one = time.perf_counter()
        status, out, err = run_cli(capsys, argv)
        assert time.perf_counter() - one < 2, case
        assert_clean(case, status, err)
        if status == 0:  # what config show prints is a config that reads back the same
            assert err == "" and isinstance(yaml.safe_load(out), dict), case
        statuses.append(status)
    assert 0 < statuses.count(0) < statuses.count(2)  # mostly refused, but not everything
    assert time.perf_counter() - started < 20


# --- flags of sample and eval ------------------------------------------------------------------

SAMPLE = ["sample", "no-such-run", "--out", "x.npy"]
EVAL = ["eval", "no-such-run"]


@pytest.mark.parametrize(("argv", "words"), [
    (SAMPLE + ["--seed", str(2**64)], ["argument --seed", "<= 2^64 - 1"]),
    (EVAL + ["--seed", str(-(2**63) - 1)], ["argument --seed", ">= -2^63"]),
    (SAMPLE + ["--seed", "9" * 5000], ["argument --seed", "at most 4300 digits"]),
    (SAMPLE + ["--seed", "1e3"], ["argument --seed", "must be an integer", "'1e3'"]),
    (SAMPLE + ["--n", "0"], ["argument --n", "must be >= 1, got 0"]),
    (SAMPLE + ["--n", "-5"], ["argument --n", "must be >= 1, got -5"]),
    (EVAL + ["--n", str(2**63)], ["argument --n", "<= 2^63 - 1"]),
    (EVAL + ["--n", "9" * 4300], ["argument --n", "<= 2^63 - 1", "digits>"]),
    (SAMPLE + ["--n", "ten"], ["argument --n", "must be an integer"]),
    (SAMPLE + ["--device", "cuda:99999999999999999999"], ["argument --device", "cuda:N"]),
    (EVAL + ["--device", "foo"], ["argument --device", "'foo'"]),
    (EVAL + ["--device", "cuda:128"], ["argument --device", "0..127"]),
    (EVAL + ["--device", "cuda:01"], ["argument --device"]),
])
def test_bad_flags_are_one_line_naming_the_flag(capsys, argv, words):
    status, _, err = run_cli(capsys, argv)
    assert_clean(argv[-1][:30], status, err)
    assert status == 2 and all(word in err for word in words), err


@pytest.mark.parametrize("flags", [["--seed", str(2**64 - 1)], ["--seed", str(-(2**63))],
                                   ["--n", str(2**63 - 1)], ["--device", "cuda:127"],
                                   ["--device", "cpu"]])
def test_flags_at_their_bounds_pass_the_parser(capsys, flags):
    status, _, err = run_cli(capsys, SAMPLE + flags)  # then: no run there, one line too
    assert status == 2 and "not a gankit run directory" in err, err


# --- a few that pass the config and are trained: nothing crashes when it is built ----------


@pytest.mark.parametrize("sets", [
    [f"train.seed={2**64 - 1}"],
    [f"train.seed={-(2**63)}"],
    ["model.g_depth=64", "model.d_depth=64"],
    ["model.pack=8", "model.minibatch_stddev=true"],
    ["model.minibatch_discrimination=100"],
    ["train.n_critic=50", "loss.name=wgan-gp"],
    [f"model.latent_dim={2**16}", "model.g_hidden=1"],
    ["train.log_every=1000000000", "train.keep_checkpoints=1000000000", "train.threads=1"],
], ids=lambda sets: " ".join(sets))
def test_extreme_but_valid_configs_train(tmp_path, capsys, sets):
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, "data": {**TINY["data"], "n_eval": 50}}))
    argv = ["train", str(path), "--out", str(tmp_path / "run"), "--no-progress",
            "--set", "train.steps=1", *[a for pair in sets for a in ("--set", pair)]]
    status, _, err = run_cli(capsys, argv)
    assert_clean(" ".join(sets), status, err)
    assert status == 0, err


def test_what_config_show_prints_reads_back(capsys):
    status, out, err = run_cli(capsys, ["config", "show", "image-folder",
                                        "--set", "data.path='1e3'"])
    assert status == 0, err
    assert load_yaml(out, "config show")["data"]["path"] == "1e3"
