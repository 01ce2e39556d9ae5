"""Each recipe owns its options: a dataclass read from the config section named after it,
checked with the same one-line errors, with no line for it in gankit.config."""

from dataclasses import dataclass

import pytest
import yaml

from conftest import tiny_dict
from gankit.configuration.resolve import build_config
from gankit.errors import ConfigError
from gankit.recipes.base import RECIPES
from gankit.recipes.gan import GAN


@dataclass
class EchoOptions:
    loudness: float = 1.0
    repeats: int = 2

    def check(self) -> None:
        if self.repeats < 1:
            raise ConfigError(f"echo-test.repeats must be >= 1, got {self.repeats}")


@RECIPES.register("echo-test")
class Echo(GAN):
    """A GAN with options of its own, defined here: a new recipe needs nothing in config.py."""

    Options = EchoOptions


def test_a_recipe_defined_elsewhere_reads_its_own_section():
    config = build_config(tiny_dict(recipe="echo-test", **{"echo-test": {"repeats": 5}}))
    assert config.options == EchoOptions(loudness=1.0, repeats=5)
    assert config.to_dict()["echo-test"] == {"loudness": 1.0, "repeats": 5}
    again = build_config(yaml.safe_load(yaml.safe_dump(config.to_dict())))
    assert again.options == config.options
    assert build_config(tiny_dict(recipe="echo-test")).options == EchoOptions()


@pytest.mark.parametrize(("sections", "overrides", "words"), [
    ({"echo-test": {"loud": 2}}, [], ["unknown config key echo-test.loud",
                                     "known keys in echo-test: loudness, repeats"]),
    ({"echo-test": {"repeats": "x"}}, [], ["echo-test.repeats must be int"]),
    ({}, ["echo-test.repeats=0"], ["echo-test.repeats must be >= 1, got 0"]),
    ({"echo-test": [1]}, [], ["echo-test must be a mapping"]),
])
def test_bad_recipe_options_are_one_line(sections, overrides, words):
    with pytest.raises(ConfigError) as err:
        build_config(tiny_dict(recipe="echo-test", **sections), overrides)
    message = str(err.value)
    assert "\n" not in message and all(word in message for word in words), message


def test_began_options_live_in_the_began_section(make_run):
    run = make_run(recipe="began", began={"gamma": 0.3, "lambda_k": 0.2})
    assert (run.recipe.gamma, run.recipe.lambda_k) == (0.3, 0.2)
    with pytest.raises(ConfigError, match=r"began.gamma must be in \(0, 1\], got 1.5"):
        build_config(tiny_dict(recipe="began"), ["began.gamma=1.5"])


def test_an_old_began_key_names_its_new_place():
    with pytest.raises(ConfigError, match="loss.began_gamma is now began.gamma"):
        build_config(tiny_dict(recipe="began", loss={"began_gamma": 0.5}))


def test_a_section_of_another_recipe_is_refused():
    with pytest.raises(ConfigError, match="section began holds options of recipe began, but "
                                          "recipe is gan"):
        build_config(tiny_dict(began={"gamma": 0.5}))


def test_a_recipe_without_options_has_none():
    assert build_config(tiny_dict()).options is None
    assert "gan" not in build_config(tiny_dict()).to_dict()
