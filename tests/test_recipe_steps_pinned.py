"""Every recipe's first two training steps, pinned: the loss terms and statistics it logs and
a digest of every weight and buffer it leaves, against values recorded from the recipes as they
were before the GAN family became composed parts (issue 26). A refactor of the recipes that
changes a draw, a term, a weight's initialization or a checkpoint key fails here.

``GANKIT_PIN_RECORD=1`` rewrites the file from the code as it is (only for an intended change of
what a recipe computes, said in the commit)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

import gankit
from conftest import all_tensors, assert_identical, tiny_dict

PINNED = Path(__file__).parent / "data" / "recipe_steps.json"
TINY_IMAGES = {"name": "dcgan", "latent_dim": 4, "g_hidden": 4, "d_hidden": 4,
               "g_batchnorm": True, "d_norm": "batch"}
DIGITS = {"name": "digits8", "batch_size": 16, "n_eval": 50}
TRANSLATION = ["data.image_size=12", "data.batch_size=4", "data.n_eval=16", "model.g_hidden=4",
               "model.d_hidden=4", "model.d_depth=1", "train.precision=fp32", "train.seed=0",
               "train.log_every=1", "train.plot_every=1000", "train.checkpoint_every=1000"]
STEPS = {"steps": 2, "log_every": 1}

# name -> a tiny config dict (sections over conftest's TINY), or (data config, overrides)
CASES: dict[str, Any] = {
    "gan": {},
    "gan-reuse-critic2": {"train": {"reuse_fake": True, "n_critic": 2}},
    "gan-wgan-gp-pack": {"loss": {"name": "wgan-gp"}, "model": {"pack": 2}},
    "gan-penalties-features": {"loss": {"r1_weight": 1.0, "r2_weight": 0.5, "real_label": 0.9,
                                        "feature_matching": 0.5, "pull_away": 0.5},
                               "train": {"g_ema": 0.5}},
    "gan-wgan-clip": {"loss": {"name": "wgan", "clip": 0.05}},
    "cgan": {"recipe": "cgan"},
    "cgan-digits-reuse": {"recipe": "cgan", "data": DIGITS, "model": TINY_IMAGES,
                          "train": {"reuse_fake": True}},
    "projection": {"recipe": "projection"},
    "projection-digits": {"recipe": "projection", "data": DIGITS, "model": TINY_IMAGES},
    "acgan-ac": {"recipe": "acgan"},
    "acgan-real-reuse": {"recipe": "acgan", "acgan": {"classifier": "real"},
                         "train": {"reuse_fake": True}},
    "acgan-tac": {"recipe": "acgan", "acgan": {"classifier": "tac", "class_weight": 0.5}},
    "acgan-adc-digits": {"recipe": "acgan", "acgan": {"classifier": "adc"}, "data": DIGITS,
                         "model": TINY_IMAGES},
    "infogan": {"recipe": "infogan", "infogan": {"categorical": [8], "continuous": 1}},
    "infogan-digits-invariance": {"recipe": "infogan", "data": DIGITS, "model": TINY_IMAGES,
                                  "infogan": {"invariance_weight": 0.5},
                                  "train": {"reuse_fake": True}},
    "relativistic": {"recipe": "relativistic", "relativistic": {"average": True}},
    "r3gan-scheduled": {"recipe": "r3gan", "r3gan": {"gamma": 1.0, "gamma_final": 0.1},
                        "train": {"lr_decay_from": 0.0, "decay_shape": "cosine",
                                  "lr_final": 0.25, "beta2_final": 0.99, "g_ema": 0.5}},
    "r3gan-lazy-ramped-average": {"recipe": "r3gan", "r3gan": {"gamma": 1.0, "penalty_every": 2},
                                  "train": {"g_ema": 0.9, "g_ema_rampup": 0.3}},
    "began": {"recipe": "began", "loss": {"name": "non-saturating"},
              "began": {"lambda_k": 0.5}},
    "meg-jsd": {"recipe": "meg"},
    "meg-encoder": {"recipe": "meg", "meg": {"entropy": "encoder"}},
    "caae": {"recipe": "caae", "caae": {"z_given_label": True, "recondition_weight": 0.5,
                                        "tv_weight": 0.1}},
    "pix2pix": ("edges2digits", []),
    "pix2pix-l1": ("edges2digits", ["pix2pix.gan_weight=0"]),
    "cyclegan": ("thin2thick", ["model.g_depth=1", "cyclegan.pool_size=3"]),
}


def run_case(case: Any, run_dir: Path | None = None) -> gankit.Run:
    if isinstance(case, tuple):
        data, overrides = case
        return gankit.build(data, overrides=TRANSLATION + overrides, run_dir=run_dir,
                            progress=False, snapshots=False)
    sections = {**case, "train": {**STEPS, **case.get("train", {})}}
    return gankit.build(tiny_dict(**sections), run_dir=run_dir, progress=False, snapshots=False)


def outcome(case: Any) -> dict[str, Any]:
    """The logged figures of two steps and each state tensor's sum and sum of squares."""
    run = run_case(case)
    history = run.fit(2)
    state = run.recipe.nets.state_dict()
    return {
        "history": [{k: v for k, v in record.items() if k != "steps_per_s" and k != "step"}
                    for record in history],
        "state": {k: [v.double().sum().item(), v.double().square().sum().item()]
                  for k, v in state.items()},
    }


def test_the_pinned_file_covers_every_case():
    if os.environ.get("GANKIT_PIN_RECORD"):
        PINNED.write_text(json.dumps({name: outcome(case) for name, case in CASES.items()},
                                     indent=1) + "\n")
    assert set(json.loads(PINNED.read_text())) == set(CASES)


@pytest.mark.parametrize("name", list(CASES))
def test_two_steps_are_what_they_were(name):
    pinned, now = json.loads(PINNED.read_text())[name], outcome(CASES[name])
    assert list(now["state"]) == list(pinned["state"])  # checkpoint keys, in order
    assert now["history"] == pinned["history"]
    assert now["state"] == pinned["state"]


@pytest.mark.parametrize("name", list(CASES))
def test_one_step_a_checkpoint_and_one_more_equal_two_straight(name, tmp_path):
    """Resume is bit-exact for every recipe and variant: weights, buffers, optimizer state and
    the random stream after 1 + 1 steps through a checkpoint equal those after 2 steps."""
    straight = run_case(CASES[name])
    straight.fit(2)
    first = run_case(CASES[name], run_dir=tmp_path)
    first.fit(1)
    resumed = gankit.load(tmp_path, progress=False)
    resumed.fit(2)
    assert_identical(all_tensors(straight), all_tensors(resumed))
