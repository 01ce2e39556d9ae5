"""Shared fixtures: a tiny, fast run configuration and helpers to build and compare runs."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

# The test machine has a couple of cores shared with other jobs; intra-op threads only add
# contention for networks 16 units wide (a 100-step run is ~6x faster on one thread).
torch.set_num_threads(1)

# Small enough that a step takes about a millisecond; intervals large so that nothing but what a
# test asks for (logging, checkpoints, plots) happens during its steps.
TINY: dict[str, Any] = {
    "recipe": "gan",
    "data": {"name": "ring8", "batch_size": 32, "n_eval": 200},
    "model": {"name": "mlp", "latent_dim": 2, "g_hidden": 16, "g_depth": 2,
              "d_hidden": 16, "d_depth": 2},
    "loss": {"name": "non-saturating"},
    "train": {"steps": 6, "n_critic": 1, "lr_g": 1e-3, "lr_d": 1e-3, "seed": 0, "precision": "fp32",
              "log_every": 1000, "plot_every": 1000, "checkpoint_every": 1000,
              "keep_checkpoints": 3},
}


def tiny_dict(**sections: dict[str, Any]) -> dict[str, Any]:
    """A fresh copy of TINY with some section keys replaced: ``tiny_dict(train={"steps": 4})``."""
    out = copy.deepcopy(TINY)
    for section, values in sections.items():
        if isinstance(values, dict):
            out.setdefault(section, {}).update(values)
        else:
            out[section] = values
    return out


@pytest.fixture
def tiny() -> Callable[..., dict[str, Any]]:
    """Factory for tiny config dicts (see :func:`tiny_dict`)."""
    return tiny_dict


@pytest.fixture
def make_run() -> Callable[..., Any]:
    """Factory: ``make_run(run_dir=None, hooks=False, loss={...}, train={...})`` -> gankit Run.

    Hooks (toy metrics and plots) are dropped unless asked for: they never change the training
    run and cost more than the training steps of a tiny model.
    """
    from gankit.api import Run
    from gankit.configuration.resolve import build_config

    def make(run_dir: Path | None = None, hooks: bool = False, **sections: Any) -> Any:
        run = Run(build_config(tiny_dict(**sections)), run_dir, progress=False)
        if not hooks:
            run.trainer.hooks = []
        return run

    return make


def all_tensors(run: Any) -> dict[str, torch.Tensor]:
    """Every tensor that determines a run's future: weights, optimizer state, the RNG streams."""
    from gankit.training.checkpoint import split_tensors

    out = {f"nets.{k}": v for k, v in run.recipe.nets.state_dict().items()}
    for name, opt in run.trainer.optimizers.items():
        split_tensors(opt.state_dict()["state"], f"optim.{name}", out)
    out["rng.generator"] = run.trainer.rng.get_state()
    return out


def assert_identical(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    different = [k for k in a if not torch.equal(a[k], b[k])]
    assert not different, f"tensors differ: {different}"


def one_error_line(capsys: Any, argv: list[str]) -> str:
    """Run the CLI in-process: status 2 and exactly one line ``gankit: error: ...`` on stderr,
    no traceback (the notes a started run prints before its error aside)."""
    from gankit.commandline.cli import main

    status = main(argv)
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    lines = [line for line in err.strip().splitlines()
             if not line.startswith(("gankit: precision", "resuming "))]
    assert len(lines) == 1 and lines[0].startswith("gankit: error: "), err
    return lines[0]


def config_sections() -> dict[str, type]:
    """Every section of a config as its dataclass: the shared ones and each recipe's options."""
    import dataclasses
    import typing

    from gankit.configuration.schema import Config
    from gankit.recipes import RECIPES

    hints = typing.get_type_hints(Config)
    sections = {f.name: hints[f.name] for f in dataclasses.fields(Config)
                if dataclasses.is_dataclass(hints[f.name])}
    sections.update({name: RECIPES[name].Options for name in RECIPES if RECIPES[name].Options})
    return sections


@pytest.fixture(scope="session")
def chromium() -> Path:
    """The Chromium the browser tests drive: found, installed (root on Debian) or skipped
    with what to do (tests/headless.py)."""
    from headless import chromium_for_tests

    return chromium_for_tests()
