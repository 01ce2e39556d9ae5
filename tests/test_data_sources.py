"""The data set registry (gankit.data.sources): what each data set's facts say before it is
loaded, and that they agree with what it loads (one added from outside: test_extending.py)."""

from __future__ import annotations

import pytest
import torch

from gankit.configuration.schema import DataConfig
from gankit.data import DATASETS, known_spec
from gankit.data.spec import DataSpec, Field
from gankit.errors import ConfigError
from gankit.recipes import RECIPES

LABEL = Field((), torch.int64)


@pytest.mark.parametrize(("name", "n_classes", "label"), [
    ("mnist5k", 10, LABEL),
    ("stacked-mnist", 10, Field((3,), torch.int64)),  # a digit a channel
    ("grid25", 25, LABEL),
    ("swiss-roll", 0, None),
    ("points-file", 0, None),
])
def test_known_spec_says_the_classes_of_examples_before_loading(name, n_classes, label):
    """What a conditional recipe's config check reads (recipes.cgan.class_count): the classes
    and the label's shape, with no translation."""
    spec = known_spec(name)
    assert (spec.n_classes, spec.fields.get("label")) == (n_classes, label)
    assert not spec.translation


def test_known_spec_of_translation_data_says_pairs_and_their_labels():
    edges = known_spec("edges2digits")
    assert edges.translation and edges.paired
    assert edges.n_classes == 10 and edges.fields == {"label": LABEL}
    thin = known_spec("thin2thick")
    assert thin.translation and not thin.paired
    assert thin.fields == {"label_a": LABEL, "label_b": LABEL}


@pytest.mark.parametrize("name", ["given", "my.module:factory", "image-folder"])
def test_known_spec_claims_nothing_for_data_known_only_once_built(name):
    """A researcher's factory or given data, or a folder of images (whose dataset.json may give
    classes), may or may not hold labels: a recipe that needs them is checked when the run is
    built, not refused at config time."""
    assert known_spec(name) is None


def test_known_spec_of_the_users_translation_folders_says_only_the_pairs():
    for name, paired in (("paired-folder", True), ("unpaired-folder", False)):
        spec = known_spec(name)
        assert spec.translation and spec.paired == paired and spec.fields == {}


@pytest.fixture(scope="module")
def loaded_specs() -> dict[str, DataSpec]:
    """The spec of every shipped data set that loads without the user's files."""
    return {name: DATASETS[name](DataConfig(name=name)).spec for name in DATASETS.names()
            if "path" not in DATASETS.facts(name)["uses"]}  # no user's files to read here


def test_the_facts_agree_with_what_each_data_set_loads(loaded_specs):
    """A registration's facts sit on the decorator of the loader: they must say what it builds."""
    assert len(loaded_specs) == 12
    for name, loaded in loaded_specs.items():
        known = known_spec(name)
        assert (known.n_classes, known.translation, known.paired) == (
            loaded.n_classes, loaded.translation, loaded.paired), name
        labels = {key: field for key, field in loaded.fields.items() if key.startswith("label")}
        assert known.fields == labels, name


def test_every_recipe_judges_the_known_spec_as_it_judges_the_loaded_one(loaded_specs):
    """The config check (on the facts) refuses exactly the data the built run would refuse,
    with the same line: no recipe learns at build time what it could have said earlier."""
    for recipe in RECIPES.names():
        for name, loaded in loaded_specs.items():
            verdicts = []
            for spec in (known_spec(name), loaded):
                try:
                    RECIPES[recipe].check_data(spec, name, recipe)
                    verdicts.append("accepted")
                except ConfigError as err:
                    verdicts.append(str(err))
            assert verdicts[0] == verdicts[1], (recipe, name)
