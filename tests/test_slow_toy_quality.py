"""The shipped toy configs reach the README's figures (slow: minutes of CPU; `pytest -m slow`)."""

from __future__ import annotations

import pytest

import gankit


@pytest.mark.slow
@pytest.mark.parametrize(("config", "modes"), [("grid25", 25), ("ring8", 8)])
def test_shipped_config_captures_every_mode_sharply(config, modes):
    run = gankit.build(config, ["train.seed=0"], progress=False)
    run.fit()
    metrics = run.evaluate()
    assert metrics["modes"] == modes
    assert metrics["high_quality"] >= 95.0
    assert metrics["reverse_kl"] <= 0.02
