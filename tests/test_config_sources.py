"""Configs you can trace (issue 26): a run is a data-set config, at most one preset and --set;
every resolved key names its source; values are the ones used, never None; a key a run would
ignore is refused only when the person set it; old spellings fail with one line."""

import dataclasses

import pytest
import yaml

from conftest import tiny_dict
from gankit.commandline.cli import main
from gankit.configuration.compose import PRESETS, SHIPPED_CONFIGS, compose, shipped_configs
from gankit.configuration.resolve import build_config, explain, load_config, resolve
from gankit.errors import ConfigError

DATASETS, PRESET_NAMES = shipped_configs()


def sources_of(name, overrides=()):
    """``section.key`` -> the text of its source, for shipped ``name`` with ``overrides``."""
    config, sources = resolve(compose(name), list(overrides))
    lines = explain(config, sources)
    return {line.split(":", 1)[0]: line.split(" <- ", 1)[1] for line in lines}, config


def keys_of(path):
    data = yaml.safe_load(path.read_text())
    return {f"{section}.{key}" if isinstance(values, dict) else section
            for section, values in data.items()
            for key in (values if isinstance(values, dict) else [None])}


def test_every_key_names_the_file_preset_default_or_flag_that_set_it():
    shown, config = sources_of("grid25-wgan-gp", ["train.steps=7"])
    grid25, wgan_gp = keys_of(SHIPPED_CONFIGS / "grid25.yaml"), keys_of(PRESETS / "wgan-gp.yaml")
    every = {f"{section}.{f.name}" for section in ("data", "model", "loss", "train", "augment")
             for f in dataclasses.fields(getattr(config, section))} | {"recipe"}
    assert set(shown) == every
    for key, source in shown.items():
        if key == "train.steps":
            assert source == "--set train.steps=7"
        elif key in wgan_gp:
            assert source == "preset gankit/configs/presets/wgan-gp.yaml", key
        elif key in grid25:
            assert source == "shipped config gankit/configs/grid25.yaml", key
        elif key == "loss.clip":  # wgan-gp's preset sets lambda; c is the loss's own default
            assert source == "loss wgan-gp's paper default (gankit.losses)"
        else:
            assert source.startswith("the schema's default"), key


def test_recipe_defaults_and_option_defaults_are_named():
    shown, _ = sources_of("thin2thick")
    assert shown["model.g_norm"] == "recipe cyclegan's paper default"  # Recipe.defaults
    assert shown["model.g_hidden"] == "shipped config gankit/configs/thin2thick.yaml"
    assert shown["cyclegan.pool_size"] == "recipe cyclegan's option default"


def test_a_users_file_on_a_shipped_base_is_named_by_its_path(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: ring8-hinge\ntrain: {lr_d: 3.0e-4}\n")
    config, sources = resolve(compose(path))
    assert config.train.lr_d == 3e-4
    assert sources["train.lr_d"].text == f"your file {path}"
    assert sources["loss.name"].text == "preset gankit/configs/presets/hinge.yaml"
    assert sources["data.name"].text == "shipped config gankit/configs/ring8.yaml"


@pytest.mark.parametrize("name", DATASETS + [f"{d}-{p}" for d in ("ring8", "mnist5k")
                                             for p in PRESET_NAMES])
def test_a_resolved_config_holds_the_values_used_never_none(name):
    """Shared sections: the loss's penalty weights are the paper's numbers, not None."""
    config = load_config(name)
    for section in ("data", "model", "loss", "train"):
        for key, value in dataclasses.asdict(getattr(config, section)).items():
            # None is a value the person chose, "off", not a default to fill: no best list
            # kept, a constant beta2
            off = ("train.keep_best", "train.beta2_final")
            assert value is not None or f"{section}.{key}" in off, (name, key)


def test_config_show_explain_prints_each_key_with_its_source(capsys):
    assert main(["config", "show", "grid25-wgan-gp", "--explain", "--set", "train.steps=7"]) == 0
    lines = capsys.readouterr().out.splitlines()
    by_key = {line.split(":", 1)[0]: line for line in lines}
    assert by_key["train.steps"].endswith("<- --set train.steps=7")
    assert "loss.gp_weight: 10.0" in by_key["loss.gp_weight"]
    assert by_key["loss.gp_weight"].endswith("<- preset gankit/configs/presets/wgan-gp.yaml")
    assert by_key["loss.clip"].endswith("<- loss wgan-gp's paper default (gankit.losses)")
    assert len(lines) == len(by_key) and "None" not in by_key["loss.clip"]


# --- the one rule for keys a run ignores -------------------------------------------------------


def test_a_data_set_configs_key_for_another_recipe_goes_back_to_off():
    """grid25 sets the hinge loss for the GAN recipe; under MEG, which reads no loss, it is off
    again (no preset needs to reset it), and --explain says why."""
    shown, config = sources_of("grid25", ["recipe=meg"])
    assert config.recipe == "meg" and config.loss.name == "non-saturating"
    assert shown["loss.name"].startswith("off: recipe meg does not read it (shipped config "
                                         "gankit/configs/grid25.yaml set 'hinge')")
    stacked = load_config("stacked-mnist-began")  # minibatch layers, for the GAN recipe
    assert stacked.model.minibatch_discrimination == 0


@pytest.mark.parametrize("overrides", [["recipe=meg", "loss.name=hinge"],
                                       ["recipe=began", "model.minibatch_discrimination=8"],
                                       ["recipe=infogan", "model.pack=2"]])
def test_a_key_the_person_sets_that_the_recipe_ignores_is_refused(overrides):
    recipe = overrides[0].removeprefix("recipe=")
    key = overrides[1].split("=")[0]
    with pytest.raises(ConfigError, match=f"^recipe {recipe} does not use {key}="):
        load_config("grid25", overrides)


def test_a_preset_counts_as_the_persons_choice():
    """A WGAN preset on a translation recipe: its clipping would be ignored, so it is refused."""
    with pytest.raises(ConfigError, match="^recipe cyclegan does not use loss.clip=0.01, "
                                          "train.n_critic=5 "):
        load_config("thin2thick-wgan")


def test_a_users_file_is_the_persons_choice(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("base: grid25\nrecipe: meg\n")
    assert load_config(path).loss.name == "non-saturating"  # grid25's hinge: off again
    path.write_text("base: grid25\nrecipe: meg\nloss: {name: hinge}\n")
    with pytest.raises(ConfigError, match="^recipe meg does not use loss.name='hinge'"):
        load_config(path)


def test_plain_data_counts_as_set_by_the_person():
    with pytest.raises(ConfigError, match="^data set ring8 does not use data.path='x'"):
        build_config(tiny_dict(data={"name": "ring8", "path": "x"}))
    with pytest.raises(ConfigError, match="^recipe gan does not use model.g_norm='instance'"):
        build_config(tiny_dict(model={"g_norm": "instance"}))


def test_another_recipes_section_from_a_data_set_config_is_dropped():
    config = load_config("stacked-mnist-meg", ["recipe=gan"])
    assert config.options is None and "meg" not in config.to_dict()
    with pytest.raises(ConfigError, match="config section meg holds options of recipe meg"):
        load_config("stacked-mnist-meg", ["recipe=gan", "meg.gp_weight=3"])


# --- old spellings: one line naming the new one ------------------------------------------------


@pytest.mark.parametrize(("name", "message"), [
    ("losses/wgan-gp", "config losses/wgan-gp is now the preset wgan-gp (configs/presets/), "
                       "which goes on a data-set config: gankit train DATASET-wgan-gp"),
    ("pairs/stacked-mnist-meg", "config pairs/stacked-mnist-meg is now the data-set config "
                                "stacked-mnist-meg: gankit train stacked-mnist-meg"),
])
def test_old_shipped_names_are_one_line(name, message, capsys):
    with pytest.raises(ConfigError) as err:
        load_config(name)
    assert str(err.value) == message
    assert main(["config", "show", name]) == 2
    assert capsys.readouterr().err == f"gankit: error: {message}\n"


def test_a_base_chain_is_one_line(tmp_path):
    (tmp_path / "parent.yaml").write_text("base: ring8\n")
    (tmp_path / "child.yaml").write_text("base: parent.yaml\n")
    with pytest.raises(ConfigError, match=r"names the file parent.yaml; a file can start only "
                                          r"from a shipped config \(base: grid25"):
        load_config(tmp_path / "child.yaml")
    (tmp_path / "old.yaml").write_text("base: losses/hinge\n")
    with pytest.raises(ConfigError, match="^config losses/hinge is now the preset hinge"):
        load_config(tmp_path / "old.yaml")


# --- the guide's page on configs (docs/config-basics.md) -----------------------------------------

GUIDE = (SHIPPED_CONFIGS.parents[2] / "docs" / "config-basics.md").read_text()


def test_the_guides_config_file_example_resolves(tmp_path):
    (example,) = [block for block in GUIDE.split("```yaml\n")[1:] if block.startswith("base:")]
    path = tmp_path / "mine.yaml"
    path.write_text(example.split("```")[0])
    assert load_config(path) == load_config("grid25")


def test_the_guides_explain_example_is_what_the_command_prints(capsys):
    command = "gankit config show grid25-wgan-gp --explain --set train.steps=4000"
    block = GUIDE.split(f"$ {command}\n")[1].split("```")[0]
    assert main(command.split()[1:]) == 0
    printed = capsys.readouterr().out.splitlines()
    for line in block.splitlines():
        assert line == "..." or line in printed, line


def test_the_view_starts_from_a_preset_of_another_recipe():
    """gankit view ring8-meg: ring8's hinge loss is for the GAN recipe, not the view's to refuse."""
    from gankit.view.session import base_config_data
    from gankit.view.settings import check_base, loss_defaults, settings_of, with_loss

    base, opened = base_config_data("ring8-meg")
    config = build_config(base)
    check_base(config, "ring8-meg")
    assert opened is None and config.recipe == "meg" and config.loss.name == "non-saturating"
    ring8, _ = base_config_data("ring8")
    assert build_config(with_loss(ring8, "meg")).recipe == "meg"
    assert loss_defaults(ring8, settings_of(load_config("ring8"), "ring8"), "meg",
                         "ring8").n_critic == 5


def test_every_shipped_config_file_is_package_data():
    """An installed gankit holds the presets as well as the data-set configs."""
    import tomllib

    root = SHIPPED_CONFIGS.parents[2]
    globs = tomllib.loads((root / "pyproject.toml").read_text())["tool"]["setuptools"][
        "package-data"]["gankit"]
    package = SHIPPED_CONFIGS.parent
    for path in SHIPPED_CONFIGS.rglob("*.yaml"):
        assert any(path.relative_to(package).match(glob) for glob in globs), path
