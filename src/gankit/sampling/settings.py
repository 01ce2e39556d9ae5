"""The latent-sampler registry and the settings of one draw.

A sampler is a function ``(recipe, settings) -> LatentSource`` registered with its options::

    @SAMPLERS.register("truncation", label="t{threshold:g}",
                       flags={"threshold": {"type": "float", "default": 1.0, "help": "..."}})

``flags`` declares each option once, as literals: ``type`` (``int`` in ``range`` [low, high],
int64's by default; ``float``, > 0 and finite *in float32*, the dtype of the latents and
energies it scales; or ``bool``, a switch), ``default``, ``help`` and optionally ``tag``;
``gankit sample/eval`` make their flags from it (reading the source, without torch) and
:class:`SamplerSettings` its defaults, both checking values by :func:`option_problem`.
``label`` names the draw in records and file names: the sampler's name, the template formatted
with the options (``truncation-t0.5``), then ``-TAGVALUE`` for each other option that is not
its default; no label: the prior, which needs no name. ``chains=True`` says the sampler keeps
a ``last_trace`` of MCMC chains (``--trace`` plots it).

This module imports no torch: the CLI imports it to read :meth:`Registry.declared`.
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from gankit.configuration.messages import float32_problem, range_problem, show_value
from gankit.configuration.schema import INT64_RANGE
from gankit.errors import GankitError
from gankit.registry import Registry

if TYPE_CHECKING:
    from gankit.evaluation.latents import LatentSource
    from gankit.recipes.base import Recipe

Sampler = Callable[["Recipe", "SamplerSettings"], "LatentSource"]
DEFAULT_SAMPLER = "prior"  # the recipe's own prior, as training draws
SAMPLERS: Registry[Sampler] = Registry("latent sampler", package="gankit.sampling.samplers",
                                       group="gankit.samplers")


class SamplerSettings:
    """Which sampler draws the latents and its options, each defaulting to what the sampler
    declares (``SamplerSettings("mala", steps=20).step_size == 0.01``); ``gankit sample / eval
    --sampler`` and :meth:`gankit.Run.sampler` take one. An option the sampler does not declare,
    or a value its declaration does not allow (:func:`option_problem`), is refused in one
    line."""

    def __init__(self, name: str = DEFAULT_SAMPLER, **options: Any) -> None:
        declared = SAMPLERS.facts(name).get("flags", {})  # an unknown name: the known ones
        if unknown := sorted(options.keys() - declared.keys()):
            raise GankitError(f"sampler {name!r} has no option {unknown[0]!r} (its options: "
                              f"{', '.join(declared) or 'none'})")
        for key, value in options.items():
            if problem := option_problem(declared[key], value):
                raise GankitError(f"sampler {name!r} option {key} {problem}")
        self.name = name
        self.options = {key: options.get(key, spec["default"]) for key, spec in declared.items()}

    def __getattr__(self, key: str) -> Any:
        options = self.__dict__.get("options", {})
        if key in options:
            return options[key]
        raise AttributeError(f"sampler {self.__dict__.get('name')!r} has no option {key!r}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, SamplerSettings) and (self.name, self.options) == (
            other.name, other.options)

    def __hash__(self) -> int:
        return hash((self.name, tuple(self.options.items())))

    def __repr__(self) -> str:
        options = "".join(f", {k}={v!r}" for k, v in self.options.items())
        return f"SamplerSettings({self.name!r}{options})"

    def describe(self) -> str | None:
        """A short name of the draw for records and file names (``mala-k100-e0.01-T1``, from
        the sampler's ``label``); None for a sampler without one (the prior)."""
        facts = SAMPLERS.facts(self.name)
        if (label := facts.get("label")) is None:
            return None
        shown = {field for _, field, _, _ in string.Formatter().parse(label) if field}
        text = f"{self.name}-{label.format(**self.options)}"
        for key, spec in facts.get("flags", {}).items():
            value = self.options[key]
            if key in shown or value == spec["default"]:
                continue
            tag = spec.get("tag", key)
            if isinstance(value, bool):
                text += f"-{tag}" if value else f"-no-{tag}"
            else:
                text += f"-{tag}{value:g}"
        return text


def option_problem(spec: dict[str, Any], value: Any) -> str | None:
    """What is wrong with ``value`` for an option declared by ``spec``, or None: the one check
    of the CLI's flags (after parsing their text) and of :class:`SamplerSettings`. A float is
    held to float32 because that is what the chains and latents compute in: a step size of
    1e-320 would become 0 there and one of 1e39 inf, and the chains would run, accepting
    nothing."""
    kind = spec.get("type")
    if kind == "bool":
        return None if isinstance(value, bool) else f"must be a bool, got {show_value(value)}"
    if isinstance(value, bool) or not isinstance(value, int if kind == "int" else (int, float)):
        return f"must be {'an integer' if kind == 'int' else 'a number'}, got {show_value(value)}"
    if kind == "int":
        return range_problem(value, *spec.get("range", INT64_RANGE))
    return float32_problem(value, positive=True)


def sampler_source(recipe: Recipe, settings: SamplerSettings) -> LatentSource:
    """The latent source ``settings`` asks for, on ``recipe``'s prior and latent energy."""
    return SAMPLERS[settings.name](recipe, settings)
