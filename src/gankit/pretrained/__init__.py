"""Small trained generators that ship with gankit, to sample before training anything:
``gankit.load("pretrained:NAME")``, ``gankit sample pretrained:NAME``, ``gankit translate
pretrained:NAME``, ``gankit eval pretrained:NAME``.

Each is two files in this folder. ``NAME.safetensors`` holds the generator's weights alone (the
weight average G_ema where the run kept one), the image generators' as float16 to halve the
wheel; they load into the float32 network, and the outputs differ from the float32 weights' by
at most the record's ``storage_max_abs_diff``. ``NAME.json`` holds the run's whole config, the
metrics measured on the shipped weights with the settings they were measured at (step, n,
features, seed), the command that trained and packed it, the gankit version, the date and the
hardware. :mod:`gankit.pretrained.make` trains and packs one again.

:func:`load` rebuilds the run from the config (its data and both networks, as ``gankit.load``
does from a run directory) and loads the weights into G (and G_ema). The run has no run
directory, so nothing is ever written into the installed package: the commands write only
where ``--out`` says. A name that is not shipped is one line listing those that are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gankit.errors import GankitError

if TYPE_CHECKING:
    from gankit.api import Run

PREFIX = "pretrained:"
FOLDER = Path(__file__).parent


def available() -> list[str]:
    """The names of the shipped generators, sorted (one ``NAME.json`` each)."""
    return sorted(path.stem for path in FOLDER.glob("*.json"))


def name_of(run: str | Path) -> str | None:
    """``NAME`` where ``run`` is ``pretrained:NAME``; None for a run directory."""
    text = str(run)
    return text[len(PREFIX):] if text.startswith(PREFIX) else None


def record(name: str) -> dict[str, Any]:
    """What ``NAME.json`` records of a shipped generator; an unknown name is one line listing
    the shipped ones."""
    if name not in available():
        raise GankitError(f"no pretrained generator {name!r}; the shipped ones: "
                          f"{', '.join(PREFIX + known for known in available())}")
    return json.loads((FOLDER / f"{name}.json").read_text())


def load(name: str, overrides: list[str] | None = None, progress: bool = True) -> Run:
    """The shipped generator ``name`` as a :class:`gankit.Run` without a run directory, at the
    step it was trained to; ``overrides`` as ``gankit.load``'s (``train.device=cuda``).

    The recorded ``train.threads`` is how it was trained, not how to sample: it is left at
    torch's default here, so that loading a model does not change the process's thread pool."""
    from safetensors.torch import load_file

    from gankit.api import Run
    from gankit.configuration.resolve import build_config
    from gankit.training.choice import Chosen

    facts = record(name)
    config = build_config(facts["config"], ["train.threads=0", *(overrides or [])])
    run = Run(config, None, progress, reloaded=True)
    weights = FOLDER / f"{name}.safetensors"
    state = load_file(weights)  # load_state_dict copies float16 into the float32 tensors
    for net in ("G", "G_ema"):
        if net in run.recipe.nets:
            run.recipe.nets[net].load_state_dict(state)
    run.trainer.step = facts["metrics"]["step"]
    run.checkpoint = Chosen(Path(PREFIX + name), weights, "pretrained", step=run.step)
    return run
