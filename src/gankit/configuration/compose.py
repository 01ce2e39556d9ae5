"""What a run's config is made of, and where each value came from.

A run is composed in one fixed order, each layer over the ones before it:

1. the schema's defaults (:mod:`gankit.configuration.schema`), under
2. the recipe's paper defaults (``Recipe.defaults``; added by :mod:`~gankit.configuration.resolve`
   once the recipe is known), under
3. a data-set config: ``configs/NAME.yaml`` (``grid25``, ``stacked-mnist-meg``),
4. at most one preset for the recipe or loss: ``configs/presets/PRESET.yaml``, chosen by the
   name ``NAME-PRESET`` (``grid25-wgan-gp``),
5. the person's own YAML file, which may start from a shipped name with ``base: NAME`` (one
   level: a file that names another file is refused), and
6. ``--set section.key=value`` flags.

A :class:`Composition` keeps, beside the merged data, the :class:`Source` of every key, which
``gankit config show NAME --explain`` prints and the rule for ignored keys reads
(:mod:`gankit.configuration.unread`): layers 4-6 are the person's explicit choices.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gankit.configuration.messages import key_text, printable, show_value
from gankit.configuration.reading import MAX_TEXT, check_section
from gankit.configuration.yaml_io import load_yaml, read_yaml
from gankit.errors import ConfigError

SHIPPED_CONFIGS = Path(__file__).resolve().parent.parent / "configs"
PRESETS = SHIPPED_CONFIGS / "presets"


@dataclass(frozen=True)
class Source:
    """Where a config value came from, as ``--explain`` prints it. ``explicit``: the person
    chose it (a preset, their own file, ``--set``, data given to ``gankit.build``), so a recipe
    that would ignore it refuses it rather than dropping it."""

    text: str
    explicit: bool = False


SCHEMA_DEFAULT = Source("the schema's default (gankit.configuration.schema)")


@dataclass(frozen=True)
class Composition:
    """Config data merged layer by layer, with the :class:`Source` of each ``section.key``."""

    data: dict[str, Any] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)

    @classmethod
    def given(cls, data: Any, source: Source) -> Composition:
        """Plain config data as the one layer (a run's config.yaml, data given to the API)."""
        if not isinstance(data, dict):  # e.g. a YAML file holding a list or a bare string
            raise ConfigError(f"config must be a mapping of sections, got {type(data).__name__}")
        return cls().add(data, source)

    def add(self, update: dict[str, Any], source: Source) -> Composition:
        """This composition with ``update`` merged on top; its keys now come from ``source``."""
        keys = list(_keys(update))
        sources = {key: old for key, old in self.sources.items()
                   if not any(key == new or key.startswith(new + ".") for new in keys)}
        sources.update(dict.fromkeys(keys, source))
        return Composition(merge(self.data, update, source.text), sources)

    def under(self, defaults: dict[str, dict[str, Any]], source: Source) -> Composition:
        """This composition over ``defaults`` (a recipe's paper settings): its own values win.
        A section that is not a mapping here (``loss: 5``) is left for the schema's message."""
        below = {section: values for section, values in defaults.items()
                 if isinstance(self.data.get(section, {}), dict)}
        sources = dict.fromkeys(_keys(below), source) | self.sources
        return Composition(merge(below, self.data, "the config"), sources)

    def with_overrides(self, pairs: list[str]) -> Composition:
        """``--set`` flags on top, each key's source the flag that set it."""
        data = merge(self.data, parse_overrides(pairs), "--set")
        sources = dict(self.sources)
        for pair in pairs:
            flag = Source(f"--set {printable(pair, 200)}", explicit=True)
            sources.update(dict.fromkeys(_keys(parse_overrides([pair])), flag))
        return Composition(data, sources)


def _keys(update: dict[str, Any]) -> Iterator[str]:
    """The ``section.key`` names (or ``recipe``, or a whole section set to a scalar) that
    ``update`` sets. Only two levels: deeper values are a key's value (a list, a mistake)."""
    for name, value in update.items():
        if isinstance(value, dict) and value:
            for key in value:
                yield key_text(f"{key_text('', name)}.", key)
        else:
            yield key_text("", name)


def compose(name_or_path: str | Path) -> Composition:
    """The layers 3-5 of a run: a shipped name (``grid25``, ``grid25-wgan-gp``) or a YAML
    file, which may start from a shipped name with ``base:``."""
    name = str(name_or_path)
    path = Path(name).expanduser()
    if not path.is_file():
        if path.is_dir() and not _is_shipped(name):
            raise ConfigError(f"config {printable(name, 200)} is a directory; give a YAML file "
                              f"in it")
        return shipped(name)
    shown = printable(str(path), 200)
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{shown} must hold a mapping of config sections, got "
                          f"{type(data).__name__} {show_value(data)}")
    base = data.pop("base", None)
    start = Composition() if base is None else _base(base, path, shown)
    return start.add(data, Source(f"your file {shown}", explicit=True))


def _base(base: Any, path: Path, shown: str) -> Composition:
    """The shipped config a file starts from. A chain of files (``base: other.yaml``) was
    composed until issue 26 and is refused in one line: a value's source is then one file."""
    if not isinstance(base, str) or not base:
        raise ConfigError(f"base in {shown} must be a shipped config name (gankit configs), "
                          f"got {show_value(base)}")
    if not _is_shipped(base) and ((path.parent / base).is_file() or Path(base).is_file()):
        raise ConfigError(f"base in {shown} names the file {printable(base, 200)}; a file can "
                          f"start only from a shipped config (base: grid25 or grid25-wgan-gp): "
                          f"copy that file's keys into {shown}")
    return shipped(base)


def _is_shipped(name: str) -> bool:
    return _shipped_parts(name) is not None


def _shipped_parts(name: str) -> tuple[str, str | None] | None:
    """``grid25-wgan-gp`` -> (``grid25``, ``wgan-gp``), ``grid25`` -> (``grid25``, None);
    None for a name that is not shipped. A data-set config's own name wins."""
    datasets, presets = shipped_configs()
    if name in datasets:
        return name, None
    return next(((dataset, name.removeprefix(dataset + "-")) for dataset in datasets
                 if name.startswith(dataset + "-")
                 and name.removeprefix(dataset + "-") in presets), None)


def shipped(name: str) -> Composition:
    """A shipped data-set config, or ``DATASET-PRESET``: the data set's, then the preset's."""
    if (parts := _shipped_parts(name)) is not None:
        dataset, preset = parts
        path = SHIPPED_CONFIGS / f"{dataset}.yaml"
        composition = Composition().add(_mapping(path), Source(f"shipped config {_shown(path)}"))
        if preset is None:
            return composition
        path = PRESETS / f"{preset}.yaml"
        return composition.add(_mapping(path), Source(f"preset {_shown(path)}", explicit=True))
    datasets, presets = shipped_configs()
    folder, _, rest = name.partition("/")
    if folder == "losses" and rest in presets:  # a shipped name until issue 26
        raise ConfigError(f"config losses/{rest} is now the preset {rest} (configs/presets/), "
                          f"which goes on a data-set config: gankit train DATASET-{rest}")
    if folder == "pairs" and rest in datasets:
        raise ConfigError(f"config pairs/{rest} is now the data-set config {rest}: "
                          f"gankit train {rest}")
    raise ConfigError(f"config file not found: {printable(name, 200)} (shipped: "
                      f"{', '.join(datasets)}, each also as NAME-PRESET with a preset: "
                      f"gankit configs lists them)")


def _shown(path: Path) -> str:
    """A shipped file as ``gankit/configs/presets/meg.yaml``: where it is in the package."""
    return str(path.relative_to(SHIPPED_CONFIGS.parent.parent))


def _mapping(path: Path) -> dict[str, Any]:
    data = read_yaml(path)
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a mapping of config sections")
    return data


def read_config_data(name_or_path: str | Path) -> dict[str, Any]:
    """Plain config data of a file or shipped name (:func:`compose`), without the sources."""
    return compose(name_or_path).data


def shipped_configs() -> tuple[list[str], list[str]]:
    """Shipped data-set configs and presets; ``grid25-hinge`` combines the two."""
    datasets, presets = _shipped_names()
    return list(datasets), list(presets)


@functools.cache
def _shipped_names() -> tuple[tuple[str, ...], tuple[str, ...]]:  # files of the package
    return (tuple(sorted(p.stem for p in SHIPPED_CONFIGS.glob("*.yaml"))),
            tuple(sorted(p.stem for p in PRESETS.glob("*.yaml"))))


def config_summary(name: str) -> str:
    """The one-line description of a shipped config (``grid25``, ``presets/hinge``): the first
    line of its file, a comment by convention."""
    first = (SHIPPED_CONFIGS / f"{name}.yaml").read_text().split("\n", 1)[0]
    return first.removeprefix("#").strip()


def parse_overrides(pairs: list[str]) -> dict[str, Any]:
    """Turn ``["train.lr_d=2e-4", ...]`` into a nested dict; values are read by the config
    files' loader (``2e-4`` is a float, ``'2e-4'`` a string), and text it cannot parse as YAML
    (``data.path=[draft``) is taken as the string typed. An empty value is refused: YAML reads
    it as null, the default of some keys, so ``loss.clip=`` would pass unnoticed."""
    nested: dict[str, Any] = {}
    for pair in pairs:
        key, sep, raw = pair.partition("=")
        parts = key.split(".")
        if not sep or not all(parts):
            raise ConfigError(f"--set takes key=value with a dotted key (e.g. train.lr_d=2e-4), "
                              f"got {show_value(pair)}")
        where = f"--set {key_text('', key)}"
        if not raw:  # YAML would read null, which quietly means "the default" for some keys
            raise ConfigError(f"{where} has an empty value; give one ({key_text('', key)}=null "
                              f"for a key's default, '' for empty text)")
        if len(raw) > MAX_TEXT:  # no key takes one; refused before YAML spends time on it
            raise ConfigError(f"{where}: the value has {len(raw)} characters, at most {MAX_TEXT}")
        try:
            value = load_yaml(raw, where)
        except yaml.YAMLError:
            value = raw
        node = nested
        *parents, leaf = parts
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ConfigError(f"{where}: {part} is not a section")
        node[leaf] = value
    return nested


def merge(base: dict[str, Any], update: dict[str, Any], source: str, prefix: str = ""
          ) -> dict[str, Any]:
    """Recursively merge ``update`` (from ``source``: a file, ``--set``) into a copy of
    ``base``. A mapping meets a non-mapping only by mistake (``train: 5`` over a data-set
    config's section, or a section over ``train: 5``), and that is an error: replacing one by
    the other would hide the wrong value."""
    out = dict(base)
    for key, value in update.items():
        old, where = out.get(key), key_text(prefix, key)
        if isinstance(value, dict) and isinstance(old, dict):
            out[key] = merge(old, value, source, f"{where}.")
        elif isinstance(old, dict):  # a section replaced by a scalar, a list or null: refused
            check_section(value, where, f" from {source}")
        elif isinstance(value, dict) and key in out:
            first = key_text(f"{where}.", next(iter(value), ""))
            raise ConfigError(f"{where} is {type(old).__name__} {show_value(old)}, not a "
                              f"section, so {source} cannot set {first}")
        else:
            out[key] = value
    return out
