"""The Python API's boundaries: build leaves its argument as it was, and sampling sizes the
latents it will draw."""

from __future__ import annotations

import copy

import pytest

import gankit
from conftest import all_tensors, assert_identical, tiny_dict
from gankit.configuration.resolve import build_config


def test_build_never_changes_the_config_it_is_given():
    """Run sets train.device and a longer fit raises train.steps; on the caller's object a
    second build would inherit the stretched schedule."""
    config = build_config(tiny_dict(train={"steps": 4, "lr_decay_from": 0.5}))
    before = copy.deepcopy(config)
    run = gankit.build(config, progress=False, snapshots=False)
    run.fit(6)  # stretches the schedule (train.on_extend): an info line, not a warning
    assert config == before and run.config.train.steps == 6
    again = gankit.build(config, progress=False, snapshots=False)
    assert again.config.train.steps == 4
    again.fit()
    fresh = gankit.build(build_config(tiny_dict(train={"steps": 4, "lr_decay_from": 0.5})),
                         progress=False, snapshots=False)
    fresh.fit()
    assert_identical(all_tensors(fresh), all_tensors(again))


def test_build_never_changes_the_dict_it_is_given():
    config = tiny_dict(train={"steps": 4})
    before = copy.deepcopy(config)
    gankit.build(config, progress=False, snapshots=False).fit(6)
    assert config == before


def test_sampling_sizes_the_full_latent_of_a_conditional_recipe(monkeypatch):
    """cgan on ring8: z is 2 noise coordinates and the 8-class one-hot, 10 floats, not
    model.latent_dim's 2. Memory for the latents and the samples (twice) of n=1000 on the CPU:
    1000 * (10 + 2 * 2) * 4 bytes; with 4 bytes short of that the draw is refused."""
    from gankit.errors import ConfigError
    from gankit.training import memory

    run = gankit.build(tiny_dict(recipe="cgan"), progress=False, snapshots=False)
    assert run.recipe.layout.width == 10 and run.config.model.latent_dim == 2
    n, need = 1000, 1000 * (10 + 2 * 2) * 4
    monkeypatch.setattr(memory, "available_memory", lambda device: need - 4)
    with pytest.raises(ConfigError, match="n=1000 would need 54.7 KiB"):
        run.sample(n)
    monkeypatch.setattr(memory, "available_memory", lambda device: need)
    assert run.sample(n).shape == (n, 2)
