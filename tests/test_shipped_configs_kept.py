"""Every shipped config name resolves to the values it had before the config rework of issue 26.

``tests/data/shipped_configs_c860bfa.json`` holds, for every data-set config and every
DATASET-PRESET combination, the resolved config (``Config.to_dict()``) or the error of commit
c860bfa, dumped before the rework changed any code.
"""

import dataclasses
import json
from pathlib import Path

import pytest

from gankit.configuration.compose import shipped_configs
from gankit.configuration.resolve import load_config
from gankit.configuration.schema import AugmentConfig, ModelConfig
from gankit.data import DATASETS
from gankit.errors import GankitError

BEFORE = json.loads((Path(__file__).parent / "data" / "shipped_configs_c860bfa.json").read_text())
# Refused before only because a data-set config's key for the default recipe (stacked-mnist's
# minibatch discrimination) met a recipe that does not read it; now that value goes back to off.
NOW_RESOLVED = {"stacked-mnist-began"}
# Resolved before and failed only when the run was built: a class-conditional preset on data
# without one class label per example is now refused at config time (issue 26).
CONDITIONAL = ("acgan", "cgan", "projection", "caae")
UNLABELLED = ("swiss-roll", "stacked-mnist")
NOW_REFUSED = {f"{data}-{preset}" for data in UNLABELLED for preset in CONDITIONAL}


def _resolved(name):
    try:
        return load_config(name).to_dict()
    except GankitError as err:
        return {"error": str(err)}


@pytest.mark.parametrize("name", sorted(BEFORE))
def test_every_shipped_name_resolves_as_before(name):
    before, now = BEFORE[name], _resolved(name)
    if name in NOW_REFUSED:
        assert "error" not in before and " conditions on " in now.get("error", ""), now
    elif name in NOW_RESOLVED:
        assert "error" in before and "error" not in now, now
    elif "error" in before:
        assert "error" in now, f"{name} used to be refused ({before['error']}), now resolves"
    else:
        assert json.loads(json.dumps(now)) == _filled(before), name  # tuples as JSON lists


def _filled(before):
    """``before`` with MEG's lambda, None at c860bfa ("the paper's: 10 for images, 0.1 for
    points", decided when the run was built), as the resolved config now shows it, with the
    keys and sections added since at their defaults (issue 28: image-folder streams from disk,
    a run's feature space may be a fitted file, ``augment``; issue 29: intervals as fractions of
    the run, ``train.on_extend``, ``train.keep_best`` off, ``train.draw_in_background`` on); and
    the image-folder config's 64 px, which upscaled smaller images silently, is gone: images
    keep their own size unless data.image_size is set (issue 28); the began preset's batch norm
    in G, 32-unit code, G's average, gamma 1 and lambda_k 0.02, measured on mnist5k (issue 30,
    docs/image-quality.md)."""
    before = {**before, "data": {**before["data"], "stream": "auto", "workers": 2,
                                 "features": ""}}
    if before["data"]["name"] == "image-folder":
        before["data"]["image_size"] = 0
    if "augment" not in before:
        before = {**before, "augment": dataclasses.asdict(AugmentConfig())}
    # issue 30: the r3gan networks' block keys, at their defaults
    before["model"] = {**before["model"], **{key: getattr(ModelConfig(), key)
                                             for key in ModelConfig.R3GAN}}
    # issue 29: intervals as fractions of the run (image-folder's 20,000 steps: 5%), and the
    # key that says how a run goes on past train.steps at its default
    every = 0.05 if before["data"]["name"] == "image-folder" else 0.1
    before["train"] = {**before["train"], "log_every": 0.01, "plot_every": every,
                       "checkpoint_every": every, "on_extend": "stretch",
                       "lr_schedule_steps": 0, "keep_best": None,
                       # issue 30: the schedules' shape and final values, the average's ramp
                       "decay_shape": "linear", "lr_final": 0.0, "beta2_final": None,
                       "g_ema_rampup": 0.0,
                       # issue 29: where the snapshots' pictures are drawn
                       "draw_in_background": True}
    if before["recipe"] == "began":  # issue 30: the began preset re-tuned for images
        before = {**before, "model": {**before["model"], "g_batchnorm": True, "latent_dim": 32},
                  "train": {**before["train"], "g_ema": 0.99},
                  "began": {**before["began"], "gamma": 1.0, "lambda_k": 0.02}}
    if before.get("meg", {}).get("gp_weight", 0) is None:
        images = DATASETS.facts(before["data"]["name"])["images"]
        before = {**before, "meg": {**before["meg"], "gp_weight": 10.0 if images else 0.1}}
    return before


def test_the_fixture_covers_every_shipped_name():
    """New shipped names (stacked-mnist-meg-PRESET) are new; every old one is still shipped."""
    datasets, presets = shipped_configs()
    names = set(datasets) | {f"{d}-{p}" for d in datasets for p in presets}
    assert set(BEFORE) <= names
