"""Numbers as the computation will see them (issue 27): every numeric flag and config key is
checked after conversion to the dtype it is used in, float32 for step sizes, temperatures,
thresholds, learning rates and weights, int64 for class indices, so that 1e-320 does not run
as 0, 1e39 as inf, nor 2^63 overflow int64 inside torch.

The property tests drive each numeric flag of ``sample``, ``eval``, ``translate``, ``export`` and
``train`` (its numeric ``--set`` keys) with extreme floats and integers through
``gankit.commandline.cli.main``: the outcome is exit 0 with finite output, or exit 2 with one
line ``gankit: error: ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import itertools
import math
import re
import typing
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import gankit
from conftest import TINY, config_sections, tiny_dict
from gankit.commandline.cli import main
from gankit.commandline.parser import build_parser
from gankit.configuration.messages import FLOAT32_MAX, FLOAT32_TINY, as_float32, float32_problem
from gankit.configuration.resolve import build_config
from gankit.errors import ConfigError, GankitError
from gankit.models.latent_layout import Code, LatentLayout
from gankit.recipes import RECIPES
from gankit.sampling.mcmc import langevin
from gankit.sampling.settings import SamplerSettings

INTS = [-(2**63) - 1, -(2**63), -1, 0, 1, 2, 3, 2**31, 2**63 - 1, 2**63, 2**64, 10**30, 10**400]
FLOATS = [0.0, -0.0, 5e-324, 1e-320, 1e-310, 1e-40, 1.1754942e-38, FLOAT32_TINY, 1e-30, 0.5,
          1.0, 1e30, FLOAT32_MAX, 3.4028236e38, 1e39, 1e308, math.inf, -math.inf, math.nan,
          -1.0]
TEXTS = ["-0", "+0", "1e999", "-nan", "infinity", " 1", "0x10", "1_0", "", "1e-320", "1e39"]
# Text a flag may be given: the extremes above, and numbers hypothesis picks (small ints only,
# so that a valid --n or --steps stays quick).
VALUES = st.one_of(st.sampled_from([*map(str, INTS), *map(repr, FLOATS), *TEXTS]),
                   st.integers(-5, 40).map(str), st.floats().map(repr))


def run_cli(argv: list[str]) -> tuple[int, str]:
    """``main(argv)``: its status and stderr (hypothesis reruns it, so no capsys)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        status = main(argv)
    return status, err.getvalue()


def assert_clean(argv: list[str], status: int, err: str) -> None:
    """Exit 0, or 2 with one error line (after the notes training prints as it starts, such as
    the precision it chose)."""
    assert status in (0, 2), (argv, status, err)
    if status == 2:
        lines = err.splitlines()
        errors = [line for line in lines if line.startswith("gankit: error: ")]
        assert errors == lines[-1:] and all(line.startswith("gankit: ") for line in lines), (
            argv, err)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    """Tiny trained runs: a GAN (the MCMC samplers run on its D), a CGAN (--class) and an
    InfoGAN with a categorical and a continuous code (--code)."""
    root = tmp_path_factory.mktemp("numbers")
    configs = {"gan": tiny_dict(), "cgan": tiny_dict(recipe="cgan"),
               "infogan": tiny_dict(recipe="infogan",
                                    infogan={"categorical": [8], "continuous": 1})}
    for name, config in configs.items():
        gankit.build(config, run_dir=root / name, progress=False, snapshots=False).fit(2)
    return {name: root / name for name in configs}


# --- every numeric flag ------------------------------------------------------------------------

COMMANDS = ("sample", "eval", "translate", "export", "train")


def numeric_flags() -> set[tuple[str, str]]:
    """(command, flag) for each flag whose type is one of the CLI's numeric parsers."""
    commands = next(a for a in build_parser()._actions
                    if isinstance(a, argparse._SubParsersAction))
    out = set()
    for command in COMMANDS:
        for action in commands.choices[command]._actions:
            kind = getattr(action.type, "__qualname__", "")
            if kind.startswith(("int_in.", "_option_type.")):
                out.add((command, action.option_strings[0]))
    return out


# (run, flags before the one driven): chain flags on --sampler mala, which reads them all
SAMPLER_OF = {"--threshold": ["--sampler", "truncation"],
              **dict.fromkeys(["--steps", "--step-size", "--temperature", "--burn-in"],
                              ["--sampler", "mala"]),
              "--target-acceptance": ["--sampler", "mala", "--burn-in", "1", "--adapt"]}
CASES = {("sample", "--class"): "cgan", **{(c, f): "gan" for c, f in [
    ("sample", "--n"), ("sample", "--seed"), ("eval", "--n"), ("eval", "--seed"),
    *itertools.product(("sample", "eval"), SAMPLER_OF)]}}


def test_every_numeric_flag_is_driven():
    """A numeric flag added to one of these commands is added to the property test too."""
    assert numeric_flags() == set(CASES)


_outputs = itertools.count()


def flag_argv(runs: dict[str, Path], command: str, flag: str, value: str) -> tuple[list[str], Path]:
    out = runs["gan"].parent / f"out{next(_outputs)}.{'npy' if command == 'sample' else 'json'}"
    argv = [command, str(runs[CASES[command, flag]]), "--out", str(out)]
    argv += SAMPLER_OF.get(flag, [])
    if flag != "--n":
        argv += ["--n", "16" if command == "sample" else "50"]
    if flag in SAMPLER_OF and flag != "--steps" and "mala" in SAMPLER_OF[flag]:
        argv += ["--steps", "3"]
    return [*argv, f"{flag}={value}"], out


def float32_normal(text: str) -> bool:
    """Whether the number ``text`` is, in float32, finite and 0 or normal (numpy's reading,
    independent of gankit's)."""
    with np.errstate(over="ignore"):
        seen = abs(np.float32(float(text)))
    return bool(np.isfinite(seen) and (seen == 0 or seen >= np.finfo(np.float32).tiny))


FLOAT_FLAGS = ("--threshold", "--step-size", "--temperature", "--target-acceptance")


def drive(runs: dict[str, Path], command: str, flag: str, value: str) -> int:
    """One flag at one value: exit 2 with one line, or exit 0 having taken a value that the
    computation sees as given (a float nonzero and finite in float32, an int in int64) and
    written finite samples."""
    argv, out = flag_argv(runs, command, flag, value)
    status, err = run_cli(argv)
    assert_clean(argv, status, err)
    if status == 0:
        if flag in FLOAT_FLAGS:
            assert float32_normal(value) and float(value) > 0, argv
        else:
            assert -(2**63) <= int(value) < 2**64 and (flag != "--class" or int(value) < 8), argv
        if command == "sample":
            assert np.isfinite(np.load(out)).all(), argv
    return status


@pytest.mark.parametrize("case", sorted(CASES), ids=" ".join)
def test_numeric_flags_take_each_extreme_number(runs, case):
    statuses = [drive(runs, *case, value)
                for value in [*map(str, INTS), *map(repr, FLOATS), *TEXTS]]
    assert 0 in statuses and 2 in statuses


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(case=st.sampled_from(sorted(CASES)), value=VALUES)
def test_numeric_flags_take_any_number(runs, case, value):
    """Exit 0 or 2 for any value (drive checks what each outcome must show)."""
    assert drive(runs, *case, value) in (0, 2)


@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(code=st.sampled_from(["cat0", "cont0"]), value=VALUES)
def test_infogan_codes_take_extreme_numbers(runs, code, value):
    out = runs["gan"].parent / f"out{next(_outputs)}.npy"
    argv = ["sample", str(runs["infogan"]), "--n", "4", "--out", str(out), "--code",
            f"{code}={value}"]
    status, err = run_cli(argv)
    assert_clean(argv, status, err)
    if status == 0:
        assert value != "" and np.isfinite(np.load(out)).all(), argv
        assert float(value).is_integer() and 0 <= float(value) < 8 if code == "cat0" else \
            float32_normal(value), argv


NUMBER = re.compile(r"[-+]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][-+]?[0-9]+)?")


def numeric_keys() -> dict[str, type]:
    """Every int and float key of the schema, recipes' sections included, with its type."""
    keys = {}
    for section, cls in config_sections().items():
        for name, hint in typing.get_type_hints(cls).items():
            if kind := {int, float} & {hint, *typing.get_args(hint)}:
                keys[f"{section}.{name}"] = kind.pop()
    return keys


NUMERIC_KEYS = numeric_keys()


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("numbers-train") / "tiny.yaml"
    path.write_text(yaml.safe_dump({**TINY, "data": {**TINY["data"], "n_eval": 50},
                                    "train": {**TINY["train"], "steps": 2}}))
    return path


@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
@given(key=st.sampled_from(sorted(NUMERIC_KEYS)), value=VALUES)
def test_numeric_set_keys_of_train_take_extreme_numbers(tiny_file, key, value):
    section = key.split(".")[0]
    recipe = ["--set", f"recipe={section}"] if section in RECIPES else []
    out = tiny_file.parent / f"run{next(_outputs)}"
    argv = ["train", str(tiny_file), "--out", str(out), "--no-progress", *recipe,
            "--set", f"{key}={value}"]
    assert_set_clean(argv, key, value)


def assert_set_clean(argv: list[str], key: str, value: str) -> None:
    """``--set KEY=VALUE`` is refused in one line, or the value is one its key can hold as the
    computation sees it: not empty, an int in int64, a float 0 or normal in float32."""
    status, err = run_cli(argv)
    assert_clean(argv, status, err)
    if status == 0:
        assert value != "", argv
        if NUMERIC_KEYS[key] is int and re.fullmatch(r"[-+]?[0-9]+", value):
            assert -(2**63) <= int(value) < 2**64, argv
        if NUMERIC_KEYS[key] is float and NUMBER.fullmatch(value):
            assert float32_normal(value), argv


@pytest.mark.parametrize("key", [key for key, kind in NUMERIC_KEYS.items() if kind is float])
def test_float_set_keys_take_each_extreme_number(tiny_file, key):
    section = key.split(".")[0]
    recipe = ["--set", f"recipe={section}"] if section in RECIPES else []
    for value in [*map(repr, FLOATS), "", "1e-320", "1e39"]:
        assert_set_clean(["config", "show", str(tiny_file), *recipe, "--set", f"{key}={value}"],
                         key, value)


# --- the cases of the issue, each a test that failed before ------------------------------------

@pytest.mark.parametrize("label", [str(2**63), str(10**30)])
def test_a_class_beyond_int64_is_one_line(runs, tmp_path, label):
    status, err = run_cli(["sample", str(runs["cgan"]), "--out", str(tmp_path / "x.npy"),
                           "--class", label])
    assert status == 2 and err.startswith("gankit: error: argument --class: must be <= 2^63 - 1")


def test_a_class_within_int64_but_beyond_the_runs_is_one_line(runs, tmp_path):
    status, err = run_cli(["sample", str(runs["cgan"]), "--out", str(tmp_path / "x.npy"),
                           "--class", str(2**63 - 1)])
    assert status == 2 and err == (f"gankit: error: class {2**63 - 1} does not fit this run's "
                                   f"latent: class takes 0..7\n")


@pytest.mark.parametrize(("labels", "codes", "words"), [
    (2**64, None, f"class {2**64} does not fit"),
    ([1, 10**30], None, "class 1e+30 does not fit"),
    (10**400, None, "class takes 0..7, one value or one per sample, got <int of ~401 digits>"),
    ([1, [2]], None, "class takes 0..7, one value or one per sample, got [1, [2]]"),
    ("3", None, "class takes 0..7, one value or one per sample, got '3'"),
])
def test_labels_of_the_api_are_checked_before_any_tensor(runs, labels, codes, words):
    run = gankit.load(runs["cgan"], progress=False)
    with pytest.raises(GankitError, match=re.escape(words)):
        run.sample(2, labels=labels, codes=codes)


def test_a_continuous_code_that_float32_makes_inf_is_refused():
    layout = LatentLayout(1, (Code("cont0"),))
    with pytest.raises(GankitError, match="cont0 1e\\+39 does not fit .* 3.4028235e\\+38\\]"):
        layout.draw(2, torch.Generator(), fixed={"cont0": 1e39})
    # a subnormal in float32 (a GPU flushes it to 0) is refused too; 0 itself is a value
    with pytest.raises(GankitError, match="cont0 1e-40 does not fit .* \\[1.1754944e-38, "):
        layout.draw(2, torch.Generator(), fixed={"cont0": 1e-40})
    assert layout.draw(1, torch.Generator(), fixed={"cont0": 0.0})[0, 1] == 0
    with pytest.raises(GankitError, match="cont0 1e\\+39 does not fit"):
        layout.fix(torch.zeros(2, 2), {"cont0": torch.tensor([0.0, 1e39], dtype=torch.float64)})
    assert layout.draw(1, torch.Generator(), fixed={"cont0": 3e38})[0, 1] == as_float32(3e38)


@pytest.mark.parametrize(("flags", "value"), [
    (["--sampler", "mala", "--step-size"], "1e-320"),
    (["--sampler", "mala", "--step-size"], "1e39"),
    (["--sampler", "langevin", "--temperature"], "1e-320"),
    (["--sampler", "truncation", "--threshold"], "1e-40"),
])
def test_float_flags_are_checked_in_float32(runs, tmp_path, flags, value):
    status, err = run_cli(["sample", str(runs["gan"]), "--out", str(tmp_path / "x.npy"),
                           *flags, value])
    assert status == 2 and err.startswith(f"gankit: error: argument {flags[-1]}: must be a "
                                          f"number in [1.1754944e-38, 3.4028235e+38] (it is "
                                          f"used in float32), got {float(value)!r}"), err


@pytest.mark.parametrize(("options", "words"), [
    ({"step_size": 1e-320}, "sampler 'mala' option step_size must be a number in [1.17"),
    ({"temperature": 1e39}, "option temperature must be a number in"),
    ({"steps": 2**63}, "option steps must be <= 1000000"),
    ({"steps": 2.0}, "option steps must be an integer, got 2.0"),
    ({"adapt": 1}, "option adapt must be a bool, got 1"),
    ({"target_acceptance": "0.5"}, "option target_acceptance must be a number, got '0.5'"),
])
def test_sampler_settings_of_the_api_are_checked_as_the_flags(options, words):
    with pytest.raises(GankitError, match=re.escape(words)):
        SamplerSettings("mala", **options)


def test_the_chains_refuse_a_float32_zero_or_inf_step_size_called_directly():
    for step_size in (1e-320, 1e39):
        with pytest.raises(GankitError, match="step_size must be a number in"):
            langevin(lambda z: z.pow(2).sum(1), torch.zeros(2, 2), 3, step_size,
                     torch.Generator())


def test_chains_that_leave_float32_are_one_line_not_blamed_on_the_weights(runs, tmp_path):
    status, err = run_cli(["sample", str(runs["gan"]), "--out", str(tmp_path / "x.npy"),
                           "--sampler", "langevin", "--steps", "3", "--step-size", "1e30"])
    assert status == 2 and err == ("gankit: error: the chains' latents or energy became NaN or "
                                   "inf (float32); use a smaller --step-size or a larger "
                                   "--temperature\n")
    status, err = run_cli(["sample", str(runs["gan"]), "--out", str(tmp_path / "x.npy"),
                           "--sampler", "mala", "--steps", "3", "--temperature", "1e-37"])
    assert status == 2 and "the chains' latents or energy became NaN or inf" in err
    assert not (tmp_path / "x.npy").exists()


@pytest.mark.parametrize(("key", "value"), [
    ("train.lr_g", "1e-320"), ("train.lr_d", "1e-40"), ("loss.gp_weight", "1e39"),
    ("loss.r1_weight", "1e-310"), ("began.gamma", "3.5e38"),
])
def test_float_config_keys_are_checked_in_float32(key, value):
    with pytest.raises(ConfigError, match=re.escape(f"{key} must be 0 or a number of magnitude "
                                                    f"in [1.1754944e-38, 3.4028235e+38]")):
        build_config(tiny_dict(recipe=key.split(".")[0] if "began" in key else "gan"),
                     [f"{key}={value}"])


def test_an_empty_set_value_is_one_line_and_null_still_means_the_default(capsys):
    assert main(["config", "show", "ring8-wgan", "--set", "loss.clip="]) == 2
    assert capsys.readouterr().err == (
        "gankit: error: --set loss.clip has an empty value; give one (loss.clip=null for a "
        "key's default, '' for empty text)\n")
    assert main(["config", "show", "ring8-wgan", "--set", "loss.clip=null"]) == 0
    assert "clip: 0.01" in capsys.readouterr().out
    assert build_config(tiny_dict(), ["data.cache=''"]).data.cache == ""


def test_float32_problem_at_the_edges():
    assert float32_problem(FLOAT32_TINY, positive=True) is None
    assert float32_problem(FLOAT32_MAX, positive=True) is None
    assert float32_problem(3.40282356e38) is None  # rounds down to the largest float32
    assert float32_problem(0.0) is None and float32_problem(-0.0) is None
    assert float32_problem(-1e-30) is None
    for bad in (1.1754942e-38, 3.4028236e38, 1e-320, 5e-324, math.nan, math.inf, 10**400):
        assert float32_problem(bad) is not None, bad
    for bad in (0.0, -0.0, -1.0):
        assert float32_problem(bad, positive=True) is not None, bad
