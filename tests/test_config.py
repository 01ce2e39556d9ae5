"""Config: shipped files, --set overrides, one-line errors that name the key, and a fuzz test."""

import dataclasses
import math
import time
import typing

import pytest
import yaml
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import TINY, tiny_dict
from gankit.api import Run
from gankit.configuration.compose import SHIPPED_CONFIGS, parse_overrides, shipped_configs
from gankit.configuration.messages import show_value
from gankit.configuration.resolve import build_config, load_config
from gankit.configuration.schema import INT64_RANGE, Config, DataConfig, TrainConfig
from gankit.configuration.yaml_io import load_yaml
from gankit.data import DATASETS, known_spec
from gankit.errors import ConfigError
from gankit.losses.adversarial import LOSSES
from gankit.models import GENERATORS, TRANSLATORS
from gankit.recipes import RECIPES


def config_error(data=None, overrides=None) -> str:
    """The message of the ConfigError that ``data`` must raise; it is always one line."""
    with pytest.raises(ConfigError) as err:
        build_config(tiny_dict() if data is None else data, overrides)
    message = str(err.value)
    assert "\n" not in message and message.strip() == message
    return message


# --- shipped configs and defaults ------------------------------------------------------------


DATASET_CONFIGS, PRESET_NAMES = shipped_configs()


def test_there_are_shipped_configs():
    assert "ring8" in DATASET_CONFIGS and "grid25" in DATASET_CONFIGS
    assert {"mnist5k", "digits8", "stacked-mnist", "image-folder"} <= set(DATASET_CONFIGS)
    # A preset is named after its loss or recipe, optionally with a model option (hinge-sn).
    assert {name.removesuffix("-sn") for name in PRESET_NAMES} <= {*LOSSES.names(),
                                                                    *RECIPES.names()}
    assert "wgan-gp" in PRESET_NAMES and "began" in PRESET_NAMES


@pytest.mark.parametrize("name", DATASET_CONFIGS)
def test_every_shipped_config_loads_and_names_registered_parts(name):
    config = load_config(name)
    assert config.recipe in RECIPES and config.loss.name in LOSSES
    assert config.model.name in {*GENERATORS, *TRANSLATORS} and config.data.name in DATASETS
    assert config.loss.gp_weight is not None and config.loss.clip is not None
    # Invariance: a config written out and read back is the same config.
    assert build_config(config.to_dict()) == config


@pytest.mark.parametrize("loss", PRESET_NAMES)
def test_every_preset_combines_with_a_data_set(loss):
    base, combined = load_config("ring8"), load_config(f"ring8-{loss}")
    if loss in RECIPES:  # a recipe (began, meg, acgan, ...) rather than a loss of the GAN recipe
        assert combined.recipe == loss
    else:
        assert combined.loss.name == loss.removesuffix("-sn")
    # the data and model keys differ from the data set's only where the preset sets them, or
    # where the preset's recipe does not read the data set's value (meg: minibatch layers)
    overlay = yaml.safe_load((SHIPPED_CONFIGS / "presets" / f"{loss}.yaml").read_text())
    for section in ("data", "model"):
        ours, theirs = getattr(combined, section), getattr(base, section)
        changed = {f.name for f in dataclasses.fields(ours)
                   if getattr(ours, f.name) != getattr(theirs, f.name)}
        assert changed <= set(overlay.get(section, {})), (section, changed)


def test_the_pair_file_of_stacked_mnist_meg_is_a_data_set_config_now():
    """configs/pairs/ is gone: its one file is the data-set config stacked-mnist-meg, whose
    measured settings win over the meg preset's; the old spelling is one line naming it."""
    own, preset = load_config("stacked-mnist-meg"), load_config("stacked-mnist")
    assert own.recipe == "meg" and own.options.gp_weight == 30.0 and own.train.lr_g == 2e-4
    assert own.data == preset.data
    with pytest.raises(ConfigError) as err:
        load_config("pairs/stacked-mnist-meg")
    assert str(err.value) == ("config pairs/stacked-mnist-meg is now the data-set config "
                              "stacked-mnist-meg: gankit train stacked-mnist-meg")


def test_a_loss_overlay_path_is_one_line_naming_its_preset():
    with pytest.raises(ConfigError, match=r"config losses/hinge is now the preset hinge "
                                          r"\(configs/presets/\), which goes on a data-set "
                                          r"config: gankit train DATASET-hinge$"):
        load_config("losses/hinge")


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
    ({"model": {"d_depth": -1}}, ["model.d_depth", ">= 0"]),
    ({"loss": {"gp_weight": -1.0}}, ["loss.gp_weight", ">= 0"]),
    ({"loss": {"clip": -0.01}}, ["loss.clip", ">= 0"]),
    # unknown names: the known ones are listed
    ({"loss": {"name": "wgan_gp"}}, ["'wgan_gp'", *LOSSES.names()]),
    ({"model": {"name": "cnn"}}, ["model", "'cnn'", "mlp"]),
    ({"data": {"name": "ring9"}}, ["dataset", "'ring9'", "ring8", "grid25"]),
    ({"recipe": "stylegan"}, ["recipe", "'stylegan'", "gan"]),
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
    """YAML 1.1 reads 2e-4 as a string; the config loader reads it as YAML 1.2 does."""
    path = tmp_path / "mine.yaml"
    path.write_text("base: ring8\ntrain: {lr_d: 2e-4, lr_g: 1.0e-3, beta2: .5e-0}\n"
                    "loss: {clip: 1e-2, gp_weight: 1E1}\n")
    config = load_config(path, ["train.beta1=.25", "loss.r1_weight=1e0"])
    assert (config.train.lr_d, config.train.lr_g) == (2e-4, 1e-3)
    assert (config.loss.clip, config.loss.gp_weight) == (0.01, 10.0)
    assert (config.train.beta1, config.loss.r1_weight) == (0.25, 1.0)
    assert load_config(path, ["train.lr_g=3e-4"]).train.lr_g == 3e-4
    assert load_config(path, ["data.name=ring8"]).data.name == "ring8"


@pytest.mark.parametrize("option", ["model.spectral_norm=true",
                                    "loss.r1_weight=1", "loss.pull_away=0.1", "model.pack=2",
                                    "train.reuse_fake=true", "model.d_norm=batch"])
def test_began_refuses_options_it_would_ignore(option):
    key = option.split("=")[0].replace(".", "[.]")
    with pytest.raises(ConfigError, match=f"recipe began does not use {key}="):
        build_config(tiny_dict(recipe="began"), [option])


@pytest.mark.parametrize("name", ["mnist5k-began", "grid25-began", "digits8-began"])
def test_began_overlay_combines_with_image_and_toy_configs(name):
    assert load_config(name).recipe == "began"


# --- hostile input: every case is one ConfigError line, none is accepted silently -------------


def file_error(tmp_path, text: str | bytes, overrides=None, name="mine.yaml") -> str:
    """The one-line ConfigError of loading a config file holding ``text``."""
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(ConfigError) as err:
        load_config(path, overrides)
    message = str(err.value)
    # one line, bounded: the longest is an unknown train key with train's 30 keys listed
    assert "\n" not in message and len(message) < 500, message
    return message


@pytest.mark.parametrize(("text", "words"), [
    ('data: "x"\n', ["data must be a mapping", "str 'x'"]),
    ("train: [1]\n", ["train must be a mapping", "list [1]"]),
    ("train: null\n", ["train must be a mapping", "NoneType"]),
    ("train:\n", ["train must be a mapping", "NoneType"]),
    ("model: 3\n", ["model must be a mapping", "int 3"]),
    ("base: ring8\ntrain: null\n", ["train must be a mapping", "from", "mine.yaml"]),
    ("base: ring8\nloss: hinge\n", ["loss must be a mapping", "'hinge'"]),
    ("base: ring8-wgan\ndata: x\n", ["data must be a mapping", "mine.yaml"]),  # over an overlay
    ("base: ring8-wgan\ntrain: [5]\n", ["train must be a mapping", "list [5]"]),
    ("recipe: began\nbegan: null\n", ["began must be a mapping", "NoneType"]),
    ("recipe: began\nbegan: 0\n", ["began must be a mapping", "int 0"]),
    ("recipe: relativistic\nrelativistic: false\n", ["relativistic must be a mapping"]),
    ("[]\n", ["mapping of config sections", "list []"]),
    ("false\n", ["mapping of config sections", "bool False"]),
    ("0\n", ["mapping of config sections", "int 0"]),
    ('""\n', ["mapping of config sections", "str ''"]),
])
def test_a_section_of_the_wrong_type_is_an_error(tmp_path, text, words):
    message = file_error(tmp_path, text)
    assert all(word in message for word in words), message


def test_a_chain_of_files_is_one_line_naming_the_new_spelling(tmp_path):
    """base: names a shipped config; a file naming another file (composed until issue 26)
    is refused, naming what to do instead."""
    (tmp_path / "parent.yaml").write_text("train: {steps: 5}\n")
    message = file_error(tmp_path, "base: parent.yaml\ntrain: {steps: 3}\n")
    assert message == (f"base in {tmp_path / 'mine.yaml'} names the file parent.yaml; a file "
                       f"can start only from a shipped config (base: grid25 or grid25-wgan-gp): "
                       f"copy that file's keys into {tmp_path / 'mine.yaml'}")


def test_an_empty_file_takes_every_default(tmp_path):
    path = tmp_path / "empty.yaml"
    path.write_text("# nothing set yet\n")
    assert load_config(path) == build_config({})


@pytest.mark.parametrize(("text", "key", "typed"), [
    ('train: {lr_d: "2e-4"}\n', "train.lr_d", "float"),
    ("train: {lr_g: '0.001'}\n", "train.lr_g", "float"),
    ('train: {steps: "100"}\n', "train.steps", "int"),
    ('loss: {clip: "1e-2"}\n', "loss.clip", "float"),
    ('model: {g_batchnorm: "true"}\n', "model.g_batchnorm", "bool"),
])
def test_numbers_written_as_strings_in_files_are_errors(tmp_path, text, key, typed):
    message = file_error(tmp_path, text)
    assert f"{key} must be {typed}, got str" in message, message


@pytest.mark.parametrize(("pair", "key"), [("train.lr_d='2e-4'", "train.lr_d"),
                                           ('train.steps="100"', "train.steps")])
def test_quoted_numbers_in_overrides_are_strings_too(pair, key):
    assert f"{key} must be" in config_error(overrides=[pair])


@pytest.mark.parametrize("path", sorted(SHIPPED_CONFIGS.rglob("*.yaml")), ids=lambda p: p.stem)
def test_shipped_files_read_the_same_with_the_config_loader(path):
    """Shipped configs write floats the YAML 1.1 way (2.0e-4), so switching loaders changes
    nothing in them."""
    text = path.read_text()
    assert load_yaml(text, str(path)) == yaml.safe_load(text)


TRANSLATION_CONFIGS = [name for name in DATASET_CONFIGS
                       if RECIPES[load_config(name).recipe].translates]


@pytest.mark.parametrize("dataset", [d for d in DATASET_CONFIGS if d not in TRANSLATION_CONFIGS])
def test_every_data_set_combines_with_every_preset(dataset):
    """A data-set config's keys for the GAN recipe never stop another recipe's preset
    (stacked-mnist's minibatch discrimination under began goes back to off); a data-set config
    for MEG refuses a loss preset, whose loss MEG would not read, in one line; a class-conditional
    preset on data without one class label per example is refused at config time; so is a
    loss preset under a data-set config for a recipe that reads no loss (meg, r3gan)."""
    spec = known_spec(load_config(dataset).data.name)
    one_label = spec is not None and "label" in spec.fields and spec.fields["label"].shape == ()
    for loss in PRESET_NAMES:
        try:
            load_config(f"{dataset}-{loss}")
        except ConfigError as err:
            if str(err).startswith(f"recipe {loss} conditions on "):
                assert not one_label, (loss, err)
                continue
            recipe = load_config(dataset).recipe  # meg, r3gan: they read no loss section
            assert "loss.name" in RECIPES[recipe].UNUSED and loss not in RECIPES, (loss, err)
            assert str(err).startswith(f"recipe {recipe} does not use loss."), (loss, err)


@pytest.mark.parametrize("dataset", TRANSLATION_CONFIGS)
def test_translation_configs_take_plain_loss_overlays_and_refuse_the_rest(dataset):
    """A translation recipe's adversarial term may be any loss without a constraint it does
    not apply (clipping, penalties); a generative recipe's overlay is refused: one line each."""
    for loss in PRESET_NAMES:
        try:
            config = load_config(f"{dataset}-{loss}")
        except ConfigError as err:
            message = str(err)
            assert "\n" not in message, loss
            if loss in RECIPES:
                assert "generates images from noise" in message, (loss, message)
            else:
                assert "does not use" in message and loss.startswith("wgan"), (loss, message)
            continue
        assert config.loss.name == loss.removesuffix("-sn")
        assert config.recipe == load_config(dataset).recipe


def int_keys():
    """Every int key of the schema, shared sections and recipe options: (dotted key, field)."""
    sections = {f.name: f.type for f in dataclasses.fields(Config) if f.metadata.get("section",
                                                                                      True)}
    sections.update({name: RECIPES[name].Options for name in RECIPES
                     if RECIPES[name].Options is not None})
    out = []
    for section, cls in sections.items():
        if isinstance(cls, str):
            cls = typing.get_type_hints(Config)[section]
        if not dataclasses.is_dataclass(cls):
            continue
        hints = typing.get_type_hints(cls)
        out += [(f"{section}.{f.name}", f) for f in dataclasses.fields(cls) if hints[f.name] is int]
    return out


def test_int_keys_are_found():
    keys = {key for key, _ in int_keys()}
    assert {"train.n_critic", "train.threads", "model.pack", "data.batch_size"} <= keys


@pytest.mark.parametrize(("key", "field"), int_keys(), ids=[k for k, _ in int_keys()])
def test_every_int_key_is_bounded(key, field):
    """No int reaches torch beyond int64 (a seed: uint64, as torch.manual_seed takes it)."""
    low, high = field.metadata.get("range", INT64_RANGE)
    assert -(2**63) <= low <= high <= (2**64 - 1 if key == "train.seed" else 2**63 - 1)
    section, name = key.split(".")
    data = tiny_dict(recipe=section) if section in RECIPES else tiny_dict()
    for value, side in ((high + 1, "<="), (2**70, "<="), (low - 1, ">="), (-(2**70), ">=")):
        assert f"{key} must be {side}" in config_error(data, [f"{key}={value}"])
    # An int too long for --set (MAX_TEXT characters), as plain data: shown by its length.
    data.setdefault(section, {})[name] = 10**5000
    assert f"{key} must be <=" in (message := config_error(data)) and "digits>" in message


@pytest.mark.parametrize(("pair", "bound"), [
    (f"train.n_critic={2**70}", "<= 1000"), (f"train.threads={2**31}", "<= 1024"),
    ("model.g_depth=65", "<= 64"), ("model.d_depth=1000000", "<= 64"),
    (f"data.batch_size={2**63}", "<= 2^24"), (f"model.latent_dim={2**40}", "<= 2^16"),
    (f"model.minibatch_discrimination={2**62}", "<= 1024"), ("train.steps=1000000001", "<= "),
    ("train.threads=-1", ">= 0"), (f"train.seed={2**64}", "<= 2^64 - 1"),
])
def test_absurd_ints_that_would_hang_or_crash_are_refused(pair, bound):
    assert bound in config_error(overrides=[pair])


@pytest.mark.parametrize(("text", "words"), [
    ("train: {steps: " + "9" * 5000 + "}\n", ["unreadable int", "4300 digits", "line 1"]),
    ("train: {seed: 0x" + "f" * 4000 + "}\n", ["train.seed must be <= 2^64 - 1", "digits>"]),
    ("train: {steps: " + "9" * 4000 + "}\n", ["train.steps must be <=", "digits>"]),
    ("train: {lr_d: 1e400}\n", ["train.lr_d must be a finite number, got inf"]),
    ("train: {lr_d: .nan}\n", ["train.lr_d must be a finite number, got nan"]),
    ("train: {steps: 2024-13-45}\n", ["unreadable timestamp", "month must be in 1..12"]),
    ("train: {steps: 2024-01-05}\n", ["train.steps must be int, got date"]),
    ("model: {g_batchnorm: !!bool maybe}\n", ["unreadable bool 'maybe'"]),
    ("train: {steps: !!float x}\n", ["unreadable float 'x'"]),
    ("train: {steps: " + "[" * 10_000 + "]" * 10_000 + "}\n", ["deeper than 32 levels"]),
    ("train: {steps: &a [*a]}\n", ["alias (*a) inside the collection it names"]),
    ("train: &t {steps: *t}\n", ["alias (*t) inside"]),
    ("? [1, 2]\n: x\n", ["not valid YAML", "unhashable key"]),
    ("train: {1: 2}\n", ["unknown config key train.1"]),
    ("train: {null: 2}\n", ["unknown config key train.None"]),
    ("{[1]: 2}\n", ["not valid YAML"]),
    ("train: {steps: 1}\n---\ntrain: {steps: 2}\n", ["not valid YAML", "another document"]),
    (b"train: {steps: \xff\xfe}\n", ["not a text (UTF-8) file"]),
    ("train: {steps: 1\x00}\n", ["not valid YAML", "#x0000"]),
    ("data: {path: " + "a" * 5000 + "}\n", ["data.path must have at most 4096 characters"]),
    ("train: {device: " + "x" * 5000 + "}\n", ["train.device must have at most 4096"]),
    ("# " + "x" * (2**20) + "\n", ["bytes; a config file has at most"]),
])
def test_hostile_files_are_one_line(tmp_path, text, words):
    message = file_error(tmp_path, text)
    assert all(word in message for word in words), message


def billion_laughs(levels: int = 9) -> str:
    """One flow value whose last alias expands to 10^levels strings (shared references)."""
    anchors = ["&a0 [x, x, x, x, x, x, x, x, x, x]"] + [
        f"&a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, levels)]
    return f"[{', '.join(anchors)}, *a{levels - 1}]"


@pytest.mark.parametrize("where", ["train: {steps: %s}\n", "zzz: %s\n", "began: %s\n"
                                   "recipe: began\n", "train: {lr_d: 1}\nextra: %s\n"])
def test_an_alias_bomb_is_refused_before_anything_walks_it(tmp_path, where):
    started = time.perf_counter()
    message = file_error(tmp_path, where % billion_laughs())
    assert "expands to more than 10000 values" in message
    assert time.perf_counter() - started < 5  # walked, 10^9 values would take minutes


def test_show_value_is_bounded_for_anything():
    inner = ["x"] * 10
    for _ in range(9):
        inner = [inner] * 10  # 10^10 strings when expanded, a few hundred references in memory
    recursive = []
    recursive.append(recursive)
    for value in (inner, recursive, 10**5000, -(10**5000), "a" * 10**6, {"k" * 10**5: 1},
                  b"\x00" * 1000, "line\nbreak\u2028", float("nan")):
        started = time.perf_counter()
        text = show_value(value)
        assert len(text) <= 60 and text.isprintable(), text
        assert time.perf_counter() - started < 2  # expanded, the first would take hours


def test_scalar_aliases_still_work(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: ring8\ntrain: {lr_g: &lr 3.0e-4, lr_d: *lr}\n")
    assert load_config(path).train.lr_d == 3e-4


@pytest.mark.parametrize(("base", "words"), [
    ("5", "must be a shipped config name (gankit configs), got 5"),
    ("[a]", "must be a shipped config name (gankit configs), got ['a']"),
    ("''", "must be a shipped config name (gankit configs), got ''"),
    ("..", "config file not found: .."),
    ("nope.yaml", "config file not found: nope.yaml"),
])
def test_a_bad_base_is_one_line(tmp_path, base, words):
    assert words in file_error(tmp_path, f"base: {base}\n")


def test_a_directory_as_config(tmp_path):
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path)


@pytest.mark.parametrize(("pair", "words"), [
    ("=", ["key=value"]), ("a..b=1", ["dotted key", "'a..b=1'"]), (".x=1", ["dotted key"]),
    ("train.=1", ["dotted key"]), ("train.steps.x=1", ["train.steps is int", "train.steps.x"]),
    ("tr\u00e4in.steps=1", ["unknown config key tr\u00e4in"]),
    ("train.device=cpu\x00x", ["train.device", "'cpu\\x00x'"]),
    ("train\nx=1", ["unknown config key 'train\\nx'"]),
    ("train.steps=" + "[" * 2000 + "]" * 2000, ["--set train.steps", "deeper than 32"]),
    ("train.steps=" + "9" * 4000, ["train.steps must be <=", "digits>"]),
    ("data.name=" + "a" * 10**6, ["--set data.name", "1000000 characters"]),
    ("train.steps=" + billion_laughs(), ["expands to more than 10000 values"]),
    ("train.steps=2024-13-45", ["--set train.steps", "unreadable timestamp"]),
    ("train=1", ["train must be a mapping", "from --set"]),
])
def test_odd_overrides_are_one_line(pair, words):
    message = config_error(overrides=[pair])
    assert all(word in message for word in words), message
    assert len(message) < 400


def test_text_that_is_not_yaml_is_taken_as_typed():
    assert parse_overrides(["data.path=[draft"]) == {"data": {"path": "[draft"}}
    assert parse_overrides(["data.path=@home"]) == {"data": {"path": "@home"}}


# --- data keys the data set would ignore ------------------------------------------------------

TOY = ["ring8", "grid25", "wgangp-ring8", "wgangp-grid25", "swiss-roll", "gaussian-1d"]
DIGITS = ["mnist5k", "digits8", "stacked-mnist"]
SOURCE_KEYS = {"path": "/tmp/faces", "cache": "c.safetensors", "channels": 1, "image_size": 32}


@pytest.mark.parametrize("name", TOY + DIGITS)
@pytest.mark.parametrize("key", sorted(SOURCE_KEYS))
def test_a_data_key_the_data_set_ignores_is_an_error(name, key):
    pair = f"data.{key}={SOURCE_KEYS[key]}"
    if name in DIGITS and key == "image_size":  # digit sets resize to data.image_size
        assert build_config(tiny_dict(data={"name": name}), [pair]).data.image_size == 32
        return
    message = config_error(tiny_dict(data={"name": name}), [pair])
    assert f"data set {name} does not use data.{key}=" in message
    assert str(SOURCE_KEYS[key]) in message and "data.batch_size" in message  # what it reads
    assert ("data.image_size" in message.split("reads")[1]) is (name in DIGITS)


@pytest.mark.parametrize("name", ["image-folder", "given", "own_parts:make_points"])
def test_image_folder_and_your_own_data_take_every_data_key(name):
    pairs = [f"data.{key}={value}" for key, value in SOURCE_KEYS.items()]
    config = build_config(tiny_dict(data={"name": name}), pairs)
    assert (config.data.path, config.data.channels) == ("/tmp/faces", 1)


def test_the_default_value_of_a_data_key_counts_as_unset():
    config = build_config(tiny_dict(), ["data.channels=3", "data.path=''", "data.image_size=0"])
    assert config.data.name == "ring8"


def test_every_data_set_declares_the_keys_it_reads():
    for name in DATASETS:
        uses = DATASETS.facts(name)["uses"]
        assert set(uses) <= {f.name for f in dataclasses.fields(DataConfig)}, name
        assert not set(uses) & set(DataConfig.EVERY_SOURCE), name
