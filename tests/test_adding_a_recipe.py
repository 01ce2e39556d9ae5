"""docs/adding-a-recipe.md: its recipe is the shipped file, its losses are the paper's formulas,
and it trains, logs and resumes through the unchanged trainer."""

import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from conftest import all_tensors, assert_identical, tiny_dict
from gankit.configuration.resolve import build_config
from gankit.errors import ConfigError
from gankit.recipes import RECIPES

ROOT = Path(__file__).resolve().parents[1]


def test_the_documented_recipe_is_the_shipped_file():
    doc = (ROOT / "docs" / "adding-a-recipe.md").read_text()
    block = re.findall(r"```python\n(.*?)```", doc, flags=re.S)[0]
    assert block == (ROOT / "src" / "gankit" / "recipes" / "relativistic.py").read_text()
    assert "relativistic" in RECIPES  # registered by the package without any other line


@pytest.mark.parametrize("average", [False, True])
def test_losses_match_the_formulas(make_run, average):
    run = make_run(recipe="relativistic", relativistic={"average": average})
    recipe = run.recipe
    a, b = torch.tensor([0.3, -1.0, 2.0]), torch.tensor([1.5, 0.2, -0.4])
    sigmoid = torch.sigmoid
    if average:
        expected = (-torch.log(sigmoid(a - b.mean())).mean()
                    - torch.log(1 - sigmoid(b - a.mean())).mean())
    else:
        expected = -torch.log(sigmoid(a - b)).mean()
    torch.testing.assert_close(recipe.relativistic_loss(a, b), expected)
    assert F.softplus(torch.tensor(0.0)) == pytest.approx(torch.log(torch.tensor(2.0)))


def test_it_trains_both_networks_and_resumes_exactly(make_run, tmp_path):
    sections = dict(recipe="relativistic", train={"steps": 4, "log_every": 1})
    straight = make_run(**sections)
    before = {k: v.clone() for k, v in straight.recipe.nets.state_dict().items()}
    history = straight.fit()
    after = straight.recipe.nets.state_dict()
    for net in ("G", "D"):
        assert any(not torch.equal(before[k], after[k]) for k in before if k.startswith(net))
    assert {"d_loss", "g_loss", "d_gap"} <= history[-1].keys()
    first = make_run(run_dir=tmp_path, **sections)
    first.fit(2)
    resumed = make_run(run_dir=tmp_path, **sections).restore()
    resumed.fit()
    assert_identical(all_tensors(straight), all_tensors(resumed))


def test_its_options_and_refusals_are_one_line():
    config = build_config(tiny_dict(recipe="relativistic"), ["relativistic.average=true"])
    assert config.options.average is True
    with pytest.raises(ConfigError, match="recipe relativistic does not use model.pack=2"):
        build_config(tiny_dict(recipe="relativistic", model={"pack": 2}))
    with pytest.raises(ConfigError, match="relativistic.average must be bool"):
        build_config(tiny_dict(recipe="relativistic"), ["relativistic.average=3"])
