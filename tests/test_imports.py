"""Light imports: what ``import gankit`` and the metric modules load, asserted in a fresh
interpreter (the command line must answer at once; a metric must not pull in training code)."""

import subprocess
import sys

import pytest

HEAVY = ("torch", "gankit.training.trainer", "gankit.api", "matplotlib", "ot", "tensorboard",
         "sklearn")


def loaded_after(statement: str) -> set[str]:
    code = f"import sys; {statement}; print(' '.join(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    return set(out.split())


@pytest.mark.parametrize("statement", ["import gankit", "import gankit.config",
                                       "import gankit.commandline.cli"])
def test_the_package_and_the_command_line_load_no_torch(statement):
    assert not loaded_after(statement) & set(HEAVY)


@pytest.mark.parametrize("module", ["gankit.metrics.features", "gankit.metrics.mode_collapse",
                                    "gankit.metrics.classifier", "gankit.theory.divergences"])
def test_metrics_load_torch_but_no_training_plotting_or_transport(module):
    loaded = loaded_after(f"import {module}")
    assert "torch" in loaded  # the metrics compute in torch
    assert not loaded & {"gankit.training.trainer", "gankit.api", "matplotlib", "ot", "tensorboard"}


def test_the_api_still_loads_on_first_use():
    loaded = loaded_after("import gankit; gankit.build")
    assert {"torch", "gankit.api", "gankit.training.trainer"} <= loaded


def test_the_config_schema_imports_no_registry():
    loaded = loaded_after("import gankit.config")
    assert not loaded & {"gankit.recipes", "gankit.models", "gankit.data", "gankit.losses",
                         "gankit.registry"}
