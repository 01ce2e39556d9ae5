"""Config: shipped files, --set overrides, one-line errors that name the key, and a fuzz test."""

import dataclasses
import math

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import TINY, tiny_dict
from gankit.api import Run
from gankit.config import (
    Config,
    TrainConfig,
    parse_overrides,
    shipped_configs,
)
from gankit.data import DATASETS
from gankit.errors import ConfigError
from gankit.losses import LOSSES
from gankit.models import GENERATORS
from gankit.recipes import RECIPES
from gankit.resolve import build_config, load_config


def config_error(data=None, overrides=None) -> str:
    """The message of the ConfigError that ``data`` must raise; it is always one line."""
    with pytest.raises(ConfigError) as err:
        build_config(tiny_dict() if data is None else data, overrides)
    message = str(err.value)
    assert "\n" not in message and message.strip() == message
    return message


# --- shipped configs and defaults ------------------------------------------------------------


DATASET_CONFIGS, LOSS_OVERLAYS = shipped_configs()


def test_there_are_shipped_configs():
    assert "ring8" in DATASET_CONFIGS and "grid25" in DATASET_CONFIGS
    assert {"mnist5k", "digits8", "stacked-mnist", "image-folder"} <= set(DATASET_CONFIGS)
    # An overlay is named after its loss or recipe, optionally with a model option (hinge-sn).
    assert {name.removesuffix("-sn") for name in LOSS_OVERLAYS} <= {*LOSSES.names(),
                                                                    *RECIPES.names()}
    assert "wgan-gp" in LOSS_OVERLAYS and "began" in LOSS_OVERLAYS


@pytest.mark.parametrize("name", DATASET_CONFIGS)
def test_every_shipped_config_loads_and_names_registered_parts(name):
    config = load_config(name)
    assert config.recipe in RECIPES and config.loss.name in LOSSES
    assert config.model.name in GENERATORS and config.data.name in DATASETS
    assert config.loss.gp_weight is not None and config.loss.clip is not None
    # Invariance: a config written out and read back is the same config.
    assert build_config(config.to_dict()) == config


@pytest.mark.parametrize("loss", LOSS_OVERLAYS)
def test_every_loss_overlay_combines_with_a_data_set(loss):
    base, combined = load_config("ring8"), load_config(f"ring8-{loss}")
    if loss == "began":  # a recipe rather than a loss of the GAN recipe
        assert combined.recipe == "began"
    else:
        assert combined.loss.name == loss.removesuffix("-sn")
    assert combined.model.spectral_norm is loss.endswith("-sn")
    combined.model.spectral_norm = False
    assert (combined.data, combined.model) == (base.data, base.model)


def test_loss_overlays_hold_the_papers_hyper_parameters():
    wgan = load_config("ring8-wgan")  # Arjovsky et al. 2017, Alg. 1
    assert (wgan.loss.clip, wgan.loss.gp_weight, wgan.train.n_critic) == (0.01, 0.0, 5)
    assert (wgan.train.optimizer, wgan.train.lr_d, wgan.train.lr_g) == ("rmsprop", 5e-5, 5e-5)
    gp = load_config("grid25-wgan-gp")  # Gulrajani et al. 2017, Alg. 1
    assert (gp.loss.gp_weight, gp.loss.clip, gp.train.n_critic) == (10.0, 0.0, 5)
    assert (gp.train.beta1, gp.train.beta2, gp.train.lr_d, gp.train.lr_g) == (0.5, 0.9, 1e-4, 1e-4)
    assert gp.train.lr_decay_from == wgan.train.lr_decay_from == 1.0  # constant in both papers


def test_ring8_holds_pacgans_setup():
    config = load_config("ring8")
    assert (config.data.name, config.data.n_eval) == ("ring8", 2500)
    assert config.model.latent_dim == 2


def test_a_config_file_by_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(tiny_dict(loss={"name": "hinge"})))
    assert load_config(path).loss.name == "hinge"
    assert load_config(str(path), ["loss.name=lsgan"]).loss.name == "lsgan"


def test_empty_config_takes_every_default():
    assert build_config({}) == Config(loss=dataclasses.replace(Config().loss, gp_weight=0.0,
                                                               clip=0.0))


@pytest.mark.parametrize(
    ("loss", "gp_weight", "clip"),
    [("wgan", 0.0, 0.01), ("wgan-gp", 10.0, 0.0), ("non-saturating", 0.0, 0.0)],
)
def test_paper_defaults_fill_unset_constraints(loss, gp_weight, clip):
    config = build_config(tiny_dict(loss={"name": loss}))
    assert (config.loss.gp_weight, config.loss.clip) == (gp_weight, clip)


def test_explicit_constraints_beat_paper_defaults():
    config = build_config(tiny_dict(loss={"name": "wgan-gp", "gp_weight": 1, "clip": 0.05}))
    assert (config.loss.gp_weight, config.loss.clip) == (1.0, 0.05)
    assert isinstance(config.loss.gp_weight, float)  # an int in YAML is a float where typed so


# --- overrides ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("pair", "expected"),
    [
        ("train.lr_d=2e-4", {"train": {"lr_d": 2e-4}}),  # YAML 1.1 alone would keep a string
        ("train.lr_d=2.0e-4", {"train": {"lr_d": 2e-4}}),
        ("train.lr_g=.5", {"train": {"lr_g": 0.5}}),
        ("train.steps=1e3", {"train": {"steps": 1000.0}}),
        ("train.steps=100", {"train": {"steps": 100}}),
        ("train.seed=-3", {"train": {"seed": -3}}),
        ("model.g_batchnorm=true", {"model": {"g_batchnorm": True}}),
        ("model.g_batchnorm=False", {"model": {"g_batchnorm": False}}),
        ("loss.name=wgan-gp", {"loss": {"name": "wgan-gp"}}),
        ("loss.clip=null", {"loss": {"clip": None}}),
        ("data.name=inf", {"data": {"name": "inf"}}),  # a name, not a float
        ("recipe=gan", {"recipe": "gan"}),
        ("a.b.c=x=y", {"a": {"b": {"c": "x=y"}}}),
    ],
)
def test_parse_overrides(pair, expected):
    parsed = parse_overrides([pair])
    assert parsed == expected
    assert type(_leaf(parsed)) is type(_leaf(expected))  # 1000.0 == 1000, but float is not int


def _leaf(tree):
    while isinstance(tree, dict):
        (tree,) = tree.values()
    return tree


def test_overrides_merge_into_nested_sections():
    parsed = parse_overrides(["train.lr_d=4e-4", "train.lr_g=1e-4", "model.g_hidden=64"])
    assert parsed == {"train": {"lr_d": 4e-4, "lr_g": 1e-4}, "model": {"g_hidden": 64}}


def test_overrides_apply_on_top_of_a_file_and_keep_the_rest():
    base = load_config("ring8")
    config = load_config("ring8", ["train.lr_d=4e-4", "train.n_critic=2"])
    assert config.train.lr_d == 4e-4 and config.train.n_critic == 2
    assert config.train.lr_g == base.train.lr_g and config.data == base.data


def test_later_override_wins():
    assert build_config({}, ["train.steps=5", "train.steps=7"]).train.steps == 7


@pytest.mark.parametrize("pair", ["train.lr_d", "=3", ""])
def test_malformed_override(pair):
    message = config_error(overrides=[pair])
    assert "key=value" in message


def test_override_through_a_value_is_an_error():
    message = config_error(overrides=["train=1", "train.steps=2"])
    assert "train" in message


@pytest.mark.parametrize(
    ("pair", "words"),
    [
        ("train.lr=1e-3", ["train.lr", "lr_g", "lr_d"]),
        ("train.steps=1e3", ["train.steps", "int", "float"]),
        ("train.lr_d=fast", ["train.lr_d", "float", "'fast'"]),
        ("train.n_critic=0", ["train.n_critic", ">= 1"]),
    ],
)
def test_bad_overrides_give_config_errors(pair, words):
    message = config_error(overrides=[pair])
    assert all(word in message for word in words), message


# --- one-line errors naming the key ---------------------------------------------------------

BAD = [
    # unknown keys: the message lists the known ones
    ({"trian": {}}, ["trian", "recipe, data, model, loss, train"]),
    ({"train": {"lr": 1e-3}}, ["train.lr", "steps", "n_critic", "lr_g", "lr_d"]),
    ({"model": {"hidden": 8}}, ["model.hidden", "g_hidden", "d_hidden"]),
    ({"loss": {"lambda": 10}}, ["loss.lambda", "gp_weight", "clip"]),
    # wrong types
    ({"train": {"steps": True}}, ["train.steps", "int", "bool"]),
    ({"train": {"n_critic": 5.0}}, ["train.n_critic", "int", "float"]),
    ({"train": {"lr_d": "0.001"}}, ["train.lr_d", "float", "str"]),
    ({"train": {"lr_g": False}}, ["train.lr_g", "float", "bool"]),
    ({"model": {"g_batchnorm": 1}}, ["model.g_batchnorm", "bool", "int"]),
    ({"data": {"name": 8}}, ["data.name", "str", "int"]),
    ({"loss": {"gp_weight": [10]}}, ["loss.gp_weight", "float", "list"]),
    ({"train": 5}, ["train", "mapping", "int"]),
    ({"recipe": None}, ["recipe", "str", "NoneType"]),
    # out of range
    ({"train": {"lr_d": 0}}, ["train.lr_d", "> 0"]),
    ({"train": {"lr_g": -1e-4}}, ["train.lr_g", "> 0"]),
    ({"train": {"lr_g": math.nan}}, ["train.lr_g", "finite"]),
    ({"train": {"lr_d": math.inf}}, ["train.lr_d", "finite"]),
    ({"train": {"lr_d": 10**400}}, ["train.lr_d", "finite"]),
    ({"train": {"n_critic": 0}}, ["train.n_critic", ">= 1"]),
    ({"train": {"steps": -5}}, ["train.steps", ">= 1"]),
    ({"train": {"beta1": 1.0}}, ["train.beta1", "[0, 1)"]),
    ({"train": {"beta2": -0.1}}, ["train.beta2", "[0, 1)"]),
    ({"train": {"keep_checkpoints": 0}}, ["train.keep_checkpoints", ">= 1"]),
    ({"train": {"seed": 2**64}}, ["train.seed", "2^64"]),  # torch.manual_seed would overflow
    ({"train": {"seed": -(2**63) - 1}}, ["train.seed", "-2^63"]),
    ({"train": {"optimizer": "sgd"}}, ["train.optimizer", "'sgd'", "adam", "rmsprop"]),
    ({"train": {"device": "tpu"}}, ["train.device", "'tpu'", "cuda"]),
    ({"train": {"device": "cuda:x"}}, ["train.device", "'cuda:x'"]),
    ({"data": {"batch_size": 0}}, ["data.batch_size", ">= 1"]),
    ({"model": {"d_depth": 0}}, ["model.d_depth", ">= 1"]),
    ({"loss": {"gp_weight": -1.0}}, ["loss.gp_weight", ">= 0"]),
    ({"loss": {"clip": -0.01}}, ["loss.clip", ">= 0"]),
    # unknown names: the known ones are listed
    ({"loss": {"name": "wgan_gp"}}, ["'wgan_gp'", *LOSSES.names()]),
    ({"model": {"name": "cnn"}}, ["model", "'cnn'", "mlp"]),
    ({"data": {"name": "ring9"}}, ["dataset", "'ring9'", "ring8", "grid25"]),
    ({"recipe": "cyclegan"}, ["recipe", "'cyclegan'", "gan"]),
    # odd keys and values stay on one line
    ({"a\nb": 1}, ["unknown config key", "'a\\nb'"]),
    ({1: 2, "x": 3}, ["unknown config key", "known keys"]),
    ({"data": {"name": 10**5000}}, ["data.name", "str", "int"]),
]


@pytest.mark.parametrize(("update", "words"), BAD, ids=[w[0] for _, w in BAD])
def test_bad_config_is_one_line_naming_the_key(update, words):
    data = tiny_dict()
    for section, value in update.items():
        if isinstance(value, dict) and isinstance(data.get(section), dict):
            data[section].update(value)
        else:
            data[section] = value
    message = config_error(data)
    assert all(word in message for word in words), message


@pytest.mark.parametrize("data", [[1, 2], "ring8", 3])
def test_a_config_that_is_not_a_mapping(data):
    assert "mapping" in config_error(data)


def test_missing_file_names_it_and_lists_shipped_configs(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "nope.yaml")
    message = str(err.value)
    assert "\n" not in message and "nope.yaml" in message and "ring8" in message


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("train: {steps: [1, 2\n", ["not valid YAML"]),
        ("- a\n- b\n", ["mapping"]),
        (b"\xff\xfe\x00binary", ["not a text"]),
    ],
)
def test_damaged_config_files(tmp_path, content, words):
    path = tmp_path / "bad.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode())
    with pytest.raises(ConfigError) as err:
        load_config(path)
    message = str(err.value)
    assert "\n" not in message and all(word in message for word in words), message


def test_config_error_is_a_value_error():
    """Library users catching ValueError for bad input keep working."""
    with pytest.raises(ValueError):
        build_config({"train": {"lr_d": -1.0}})


# --- fuzz: random nested dicts only ever raise ConfigError ----------------------------------

# key -> a strategy for *valid* values; kept small so that whatever passes can be built quickly.
VALID = {
    "recipe": st.sampled_from(RECIPES.names()),
    "data": {
        "name": st.sampled_from(["ring8", "grid25", "gaussian-1d", "swiss-roll"]),
        "batch_size": st.integers(1, 64),
        "n_eval": st.integers(1, 3000),
    },
    "model": {
        "name": st.just("mlp"),
        "latent_dim": st.integers(1, 4),
        "g_hidden": st.integers(1, 8),
        "g_depth": st.integers(1, 3),
        "d_hidden": st.integers(1, 8),
        "d_depth": st.integers(1, 3),
        "g_batchnorm": st.booleans(),
    },
    "loss": {
        "name": st.sampled_from(LOSSES.names()),
        "gp_weight": st.none() | st.floats(0, 100) | st.integers(0, 100),
        "clip": st.none() | st.floats(0, 1),
    },
    "train": {
        "steps": st.integers(1, 10**9),
        "n_critic": st.integers(1, 10),
        "lr_g": st.floats(1e-8, 1.0),
        "lr_d": st.floats(1e-8, 1.0),
        "optimizer": st.sampled_from(["adam", "rmsprop"]),
        "beta1": st.floats(0, 0.999),
        "beta2": st.floats(0, 0.999),
        "seed": st.integers(-(2**63), 2**64 - 1),  # the range torch.manual_seed takes
        "device": st.just("cpu"),
        "log_every": st.integers(1, 100),
        "plot_every": st.integers(1, 100),
        "checkpoint_every": st.integers(1, 100),
        "keep_checkpoints": st.integers(1, 5),
    },
}

scalars = (
    st.none() | st.booleans() | st.integers() | st.integers(10**300, 10**310)
    | st.floats() | st.text(max_size=8) | st.sampled_from(["cuda", "cuda:x", "tpu", "", "nan"])
)
anything = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=3)
    | st.dictionaries(st.text(max_size=5) | st.integers(), inner, max_size=3),
    max_leaves=6,
)
keys = st.text(max_size=8) | st.integers() | st.none() | st.booleans() | st.floats()


@st.composite
def random_configs(draw, spec=None):
    """A nested dict: mostly valid keys with valid values, sometimes a bad key, type or value."""
    spec = VALID if spec is None else spec
    out = {}
    for key in draw(st.lists(st.sampled_from(sorted(spec)), unique=True)):
        valid = spec[key]
        kind = draw(st.sampled_from(["valid"] * 6 + ["anything"]))
        if isinstance(valid, dict):
            out[key] = draw(random_configs(valid)) if kind == "valid" else draw(anything)
        else:
            out[key] = draw(valid) if kind == "valid" else draw(anything)
    if draw(st.integers(0, 9)) == 0:
        out[draw(keys)] = draw(anything)
    return out


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=random_configs(), overrides=st.lists(st.text(max_size=12), max_size=2))
def test_fuzzed_configs_raise_only_config_error_and_whatever_passes_builds(data, overrides):
    overrides = overrides if len(overrides) % 2 else []  # half the runs without --set
    try:
        config = build_config(data, overrides)
    except ConfigError as err:
        assert "\n" not in str(err)
        event("rejected")
        return
    event("accepted")
    # Passed: it is checked, complete, and stable under a round trip...
    assert config.loss.gp_weight is not None and config.loss.clip is not None
    assert config.train.lr_d > 0 and config.train.n_critic >= 1
    assert build_config(config.to_dict()) == config
    # ...and it builds: networks, optimizers and data source. (A valid but huge width, from the
    # "anything" strategy, would only measure this machine's memory.)
    model = config.model
    if max(model.latent_dim, model.g_hidden, model.d_hidden, model.g_depth, model.d_depth) <= 64:
        run = Run(config, progress=False)
        assert set(run.trainer.optimizers) == {"d", "g"}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.text(max_size=20), min_size=1, max_size=3))
def test_fuzzed_overrides_raise_only_config_error(pairs):
    try:
        config = build_config(tiny_dict(), pairs)
    except ConfigError as err:
        assert "\n" not in str(err)
        return
    assert isinstance(config.train, TrainConfig)


OVERRIDE_KEYS = ["recipe"] + [f"{section}.{key}" for section, keys in VALID.items()
                                if isinstance(keys, dict) for key in keys]


numberish = st.from_regex(r"-?[0-9.e+-]{1,12}", fullmatch=True)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(OVERRIDE_KEYS), st.text(max_size=10) | numberish),
                min_size=1, max_size=3))
def test_fuzzed_values_for_real_keys_raise_only_config_error(pairs):
    try:
        build_config(tiny_dict(), [f"{key}={value}" for key, value in pairs])
    except ConfigError as err:
        assert "\n" not in str(err)


def test_tiny_fixture_is_itself_valid():
    assert build_config(TINY).train.steps == TINY["train"]["steps"]


def test_exponent_floats_without_a_dot_in_files_and_overrides(tmp_path):
    """YAML 1.1 reads 2e-4 as a string; a float key takes it as the number it means."""
    path = tmp_path / "mine.yaml"
    path.write_text("base: ring8\ntrain: {lr_d: 2e-4}\n")
    assert load_config(path).train.lr_d == 2e-4
    assert load_config(path, ["train.lr_g=3e-4"]).train.lr_g == 3e-4
    assert load_config(path, ["data.name=ring8"]).data.name == "ring8"


@pytest.mark.parametrize("option", ["model.spectral_norm=true", "train.g_ema=0.999",
                                    "loss.r1_weight=1", "loss.pull_away=0.1", "model.pack=2",
                                    "train.reuse_fake=true", "model.d_norm=batch"])
def test_began_refuses_options_it_would_ignore(option):
    key = option.split("=")[0].replace(".", "[.]")
    with pytest.raises(ConfigError, match=f"recipe began does not use {key}="):
        build_config(tiny_dict(recipe="began"), [option])


@pytest.mark.parametrize("name", ["mnist5k-began", "grid25-began", "digits8-began"])
def test_began_overlay_combines_with_image_and_toy_configs(name):
    assert load_config(name).recipe == "began"
