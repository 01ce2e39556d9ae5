"""The conditional and structured recipes: the latent layout, each head's loss against a hand
computation, gradients to Q and the class embedding, one real step of each recipe, and the
label reaching G."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import gankit
from conftest import tiny_dict
from gankit.configuration.resolve import build_config
from gankit.data.transforms import random_similarity
from gankit.errors import ConfigError, GankitError
from gankit.losses.adversarial import class_loss
from gankit.models.conditional import LabelInput, ProjectionDiscriminator
from gankit.models.latent_layout import CLASS, Code, LatentLayout
from gankit.models.mlp import MLPDiscriminator
from gankit.recipes.base import StepContext
from gankit.theory.mutual_information import categorical_code_bound, continuous_code_bound

CONDITIONAL = ("cgan", "acgan", "projection", "caae")
RECIPES = (*CONDITIONAL, "infogan")
TINY_IMAGES = {"name": "dcgan", "latent_dim": 4, "g_hidden": 4, "d_hidden": 4,
               "g_batchnorm": True, "d_norm": "batch"}


def tiny_config(recipe: str, data: str = "ring8", **sections):
    """A tiny config of ``recipe`` on ring8 (MLP) or digits8 (DCGAN widths 4)."""
    config = tiny_dict(recipe=recipe, **sections)
    if data != "ring8":
        config["data"] = {"name": data, "batch_size": 16, "n_eval": 50}
        config["model"] = dict(TINY_IMAGES)
    if recipe == "infogan" and data == "ring8":
        config["infogan"] = {"categorical": [8], "continuous": 1}
    return config


def build(recipe: str, data: str = "ring8", **sections) -> gankit.Run:
    return gankit.build(tiny_config(recipe, data, **sections), progress=False, snapshots=False)


def context(run: gankit.Run, seed: int = 0) -> StepContext:
    return StepContext(run.data, run.config.data.batch_size, torch.device("cpu"),
                       torch.Generator().manual_seed(seed))


# ------------------------------------------------------------------------- the latent layout

def test_noise_only_layout_draws_what_the_unconditional_prior_drew():
    layout = LatentLayout(3)
    z = layout.draw(5, torch.Generator().manual_seed(1))
    assert torch.equal(z, torch.randn(5, 3, generator=torch.Generator().manual_seed(1)))


def test_layout_parts_and_values_round_trip():
    layout = LatentLayout(2, (Code("cat0", 4), Code("cont0"), Code("cat1", 3)), "uniform")
    assert layout.width == 2 + 4 + 1 + 3
    z = layout.draw(500, torch.Generator().manual_seed(0))
    parts = layout.slices()
    noise, one_hot = z[:, parts["noise"]], z[:, parts["cat0"]]
    assert noise.min() >= -1 and noise.max() <= 1  # U(-1, 1)
    assert torch.equal(one_hot.sum(1), torch.ones(500)) and set(one_hot.unique().tolist()) == {0, 1}
    values = layout.values(z)
    assert values["cat0"].dtype == torch.int64 and set(values["cat0"].tolist()) == {0, 1, 2, 3}
    assert values["cont0"].abs().max() <= 1 and values["cat1"].max() == 2
    again = layout.with_values(z, values)
    assert torch.equal(again, z)


def test_fixing_a_code_keeps_the_noise_and_sets_the_value():
    layout = LatentLayout(3, (Code(CLASS, 10),))
    free = layout.draw(6, torch.Generator().manual_seed(2))
    fixed = layout.draw(6, torch.Generator().manual_seed(2), fixed={CLASS: 7})
    assert torch.equal(free[:, :3], fixed[:, :3])
    assert layout.values(fixed)[CLASS].tolist() == [7] * 6
    each = layout.fix(free, {CLASS: torch.arange(6)})
    assert layout.values(each)[CLASS].tolist() == list(range(6))


@pytest.mark.parametrize(("fixed", "words"), [
    ({CLASS: 10}, "class 10 does not fit .* 0..9"),
    ({CLASS: -1}, "class -1 does not fit"),
    ({CLASS: 2.5}, "class 2.5 does not fit"),
    ({CLASS: torch.arange(3)}, "one value or one per sample \\(6\\)"),
    ({"cat0": 1}, "no code 'cat0' \\(its codes: class, cont0\\)"),
    ({"cont0": math.nan},
     "cont0 nan does not fit this run's latent: cont0 takes 0 or a real number"),
])
def test_bad_code_values_are_one_line(fixed, words):
    layout = LatentLayout(3, (Code(CLASS, 10), Code("cont0")))
    with pytest.raises(GankitError, match=words):
        layout.draw(6, torch.Generator(), fixed=fixed)


def test_a_continuous_code_may_leave_its_prior_range():
    layout = LatentLayout(1, (Code("cont0"),))
    z = layout.draw(2, torch.Generator(), fixed={"cont0": -2.0})
    assert z[:, 1].tolist() == [-2.0, -2.0]


# ------------------------------------------------------------------- losses against hand sums

def test_class_loss_is_the_log_likelihood_of_the_logits():
    logits = torch.tensor([[2.0, 0.0, -1.0], [0.5, 0.5, 3.0]])
    labels = torch.tensor([0, 1])
    by_hand = -(math.log(math.exp(2) / (math.exp(2) + 1 + math.exp(-1)))
                + math.log(math.exp(0.5) / (2 * math.exp(0.5) + math.exp(3)))) / 2
    assert class_loss(logits, labels).item() == pytest.approx(by_hand, rel=1e-6)


def test_class_loss_takes_logits_not_probabilities():
    """PyTorch-GAN's AC-GAN (#141) fed softmax outputs to cross-entropy: the softmax applied
    twice squashes the loss toward log K and its gradient toward nothing."""
    logits = torch.tensor([[6.0, -3.0, -3.0]], requires_grad=True)
    right = class_loss(logits, torch.tensor([0]))
    twice = class_loss(logits.softmax(1), torch.tensor([0]))
    assert right.item() == pytest.approx(-F.log_softmax(logits, 1)[0, 0].item())
    assert right.item() < 0.01 and twice.item() > 0.5  # a confident, right guess costs ~0 once
    wrong_logits = torch.tensor([[-3.0, 6.0, -3.0]], requires_grad=True)
    (g_right,) = torch.autograd.grad(class_loss(wrong_logits, torch.tensor([0])), wrong_logits)
    (g_twice,) = torch.autograd.grad(class_loss(wrong_logits.softmax(1), torch.tensor([0])),
                                     wrong_logits)
    assert g_right.abs().max() > 0.9 and g_twice.abs().max() < 0.01


def test_infogan_categorical_bound_is_log_k_minus_cross_entropy():
    logits = torch.tensor([[1.0, 2.0, 0.0, -1.0], [0.0, 0.0, 0.0, 0.0]])
    codes = torch.tensor([1, 3])
    ce = -(F.log_softmax(logits, 1)[0, 1] + F.log_softmax(logits, 1)[1, 3]) / 2
    bound = categorical_code_bound(logits, codes)
    assert bound.item() == pytest.approx(math.log(4) - ce.item(), rel=1e-6)
    # a Q that knows the code: the bound reaches H(c) = log K; one that guesses: 0
    sure = F.one_hot(codes, 4).float() * 50
    assert categorical_code_bound(sure, codes).item() == pytest.approx(math.log(4), abs=1e-6)
    assert categorical_code_bound(torch.zeros(2, 4), codes).item() == pytest.approx(0, abs=1e-6)


def test_infogan_continuous_bound_is_entropy_plus_gaussian_log_likelihood():
    codes, mean = torch.tensor([0.5, -0.25]), torch.tensor([0.1, -0.25])
    log_q = torch.distributions.Normal(mean, 1.0).log_prob(codes).mean()
    expected = math.log(2) + log_q.item()  # H(U(-1, 1)) = log 2
    assert continuous_code_bound(mean, codes).item() == pytest.approx(expected, rel=1e-6)


def d_phase_by_hand(run: gankit.Run):
    """The D phase's draws redone: (the real batch, z with its classes, G(z))."""
    recipe, ctx = run.recipe, context(run)
    z = ctx.draw(recipe.latent)
    batch = ctx.batch()
    z = recipe.conditioning.relabel(recipe.layout, z, batch)
    with torch.no_grad():
        return batch, z, recipe.nets["G"](z)


def g_phase_by_hand(run: gankit.Run, seed: int = 1):
    """The G phase's draws redone: (D's output on G(z), the classes G was asked for)."""
    recipe = run.recipe
    z = context(run, seed).draw(recipe.latent)
    with torch.no_grad():
        return (recipe.nets["D"](recipe.nets["G"](z)),
                recipe.conditioning.fake_labels(recipe.layout, z))


def test_acgan_terms_are_both_sides_class_cross_entropy():
    run = build("acgan")
    recipe = run.recipe
    out = recipe.d_phase(context(run))
    batch, _, fake = d_phase_by_hand(run)
    D = recipe.nets["D"]
    real_logits, fake_logits = D(batch["x"]).heads["class"], D(fake).heads["class"]
    by_hand = (F.cross_entropy(real_logits, batch["label"])
               + F.cross_entropy(fake_logits, batch["label"]))  # the fakes take real labels
    assert out.terms["d_class"].item() == pytest.approx(by_hand.item(), rel=1e-5)
    accuracy = (real_logits.argmax(1) == batch["label"]).float().mean()
    assert out.stats["class_acc_real"].item() == pytest.approx(accuracy.item())


def test_acgan_real_classifier_trains_the_head_on_real_examples_only():
    run = build("acgan", acgan={"classifier": "real"})
    recipe = run.recipe
    out = recipe.d_phase(context(run))
    ctx = context(run)
    ctx.draw(recipe.latent)  # the draws in d_phase's order
    batch = ctx.batch()
    by_hand = F.cross_entropy(recipe.nets["D"](batch["x"]).heads["class"], batch["label"])
    assert out.terms["d_class"].item() == pytest.approx(by_hand.item(), rel=1e-5)
    with torch.no_grad():  # another G: the fakes change, D's class term does not
        for p in recipe.nets["G"].parameters():
            p.mul_(3)
    again = recipe.d_phase(context(run))
    assert again.terms["d_class"].item() == out.terms["d_class"].item()
    assert again.terms["d_loss"].item() != out.terms["d_loss"].item()
    g_terms = recipe.run_phase(recipe.phases()[1], context(run)).terms
    assert g_terms["g_class"].requires_grad  # G is still judged by the head


def test_tac_twin_head_learns_the_fakes_and_g_maximizes_its_cross_entropy():
    """TAC-GAN's twin (Gong et al. 2019): C on real data, the twin C^mi on the fakes; G
    minimizes C's cross-entropy and maximizes the twin's."""
    run = build("acgan", acgan={"classifier": "tac", "class_weight": 0.5})
    recipe, D = run.recipe, run.recipe.nets["D"]
    out = recipe.d_phase(context(run))
    batch, z, fake = d_phase_by_hand(run)
    real_ce = F.cross_entropy(D(batch["x"]).heads["class"], batch["label"])
    twin_ce = F.cross_entropy(D(fake).heads["twin"], batch["label"])
    assert out.terms["d_class"].item() == pytest.approx(0.5 * real_ce.item(), rel=1e-5)
    assert out.terms["d_twin"].item() == pytest.approx(0.5 * twin_ce.item(), rel=1e-5)
    g = recipe.run_phase(recipe.phases()[1], context(run, 1)).terms
    out_fake, asked = g_phase_by_hand(run)
    assert g["g_class"].item() == pytest.approx(
        0.5 * F.cross_entropy(out_fake.heads["class"], asked).item(), rel=1e-5)
    assert g["g_twin"].item() == pytest.approx(
        -0.5 * F.cross_entropy(out_fake.heads["twin"], asked).item(), rel=1e-5)
    twin = list(D.heads["twin"].parameters())
    assert all(grad.abs().sum() > 0 for grad in torch.autograd.grad(out.terms["d_twin"], twin))


def test_adc_head_names_class_and_source_in_one_2k_softmax():
    """ADC-GAN (Hou et al. 2022): real (x, y) is class y, a fake is y + K; G takes
    -log C(y+ | x) + log C(y- | x)."""
    run = build("acgan", acgan={"classifier": "adc"})
    recipe, D, k = run.recipe, run.recipe.nets["D"], run.recipe.conditioning.n_classes
    assert D.heads["class"].out_features == 2 * k
    out = recipe.d_phase(context(run))
    batch, z, fake = d_phase_by_hand(run)
    real_logits = D(batch["x"]).heads["class"]
    by_hand = (F.cross_entropy(real_logits, batch["label"])
               + F.cross_entropy(D(fake).heads["class"], batch["label"] + k))
    assert out.terms["d_class"].item() == pytest.approx(by_hand.item(), rel=1e-5)
    accuracy = (real_logits[:, :k].argmax(1) == batch["label"]).float().mean()
    assert out.stats["class_acc_real"].item() == pytest.approx(accuracy.item())
    g = recipe.run_phase(recipe.phases()[1], context(run, 1)).terms
    out_fake, asked = g_phase_by_hand(run)
    log_p = F.log_softmax(out_fake.heads["class"], 1)
    rows = torch.arange(len(asked))
    by_hand = (-log_p[rows, asked] + log_p[rows, asked + k]).mean()
    assert g["g_class"].item() == pytest.approx(by_hand.item(), rel=1e-5)


def test_acgan_classifier_must_be_known():
    with pytest.raises(ConfigError, match="acgan.classifier must be one of ac, real, tac, adc, "
                                          "got 'twin'"):
        build("acgan", acgan={"classifier": "twin"})


def test_infogan_invariance_term_is_the_categorical_bound_on_a_transformed_fake():
    run = build("infogan", "digits8", infogan={"categorical": [10], "continuous": 2,
                                               "invariance_weight": 0.5})
    recipe, D = run.recipe, run.recipe.nets["D"]
    torch.manual_seed(7)  # the transformations come from torch's global generator
    out = recipe.d_phase(context(run))
    _, z, fake = d_phase_by_hand(run)
    torch.manual_seed(7)
    q = D(random_similarity(fake)).heads["q"]
    by_hand = -0.5 * categorical_code_bound(q[:, :10], recipe.layout.values(z)["cat0"])
    assert out.terms["d_invariance"].item() == pytest.approx(by_hand.item(), rel=1e-5)
    g_terms = recipe.run_phase(recipe.phases()[1], context(run, 1)).terms
    grads = torch.autograd.grad(g_terms["g_invariance"], list(recipe.nets["G"].parameters()))
    assert sum(g.abs().sum() for g in grads) > 0  # through the warp, back to G
    assert "d_invariance" not in build("infogan", "digits8").recipe.d_phase(context(run)).terms


def test_infogan_invariance_needs_images():
    with pytest.raises(ConfigError, match=r"infogan.invariance_weight rotates and zooms "
                                          r"images; data ring8 has examples of shape \(2,\)"):
        config = tiny_config("infogan")
        config["infogan"]["invariance_weight"] = 1.0
        gankit.build(config, progress=False, snapshots=False)


def test_projection_output_is_psi_plus_embedding_inner_product():
    body = MLPDiscriminator((2,), 8, 2)
    D = ProjectionDiscriminator(body, 8, 3)
    x, y = torch.randn(5, 2), torch.tensor([0, 1, 2, 1, 0])
    out, plain = D(x, y), body(x)
    by_hand = plain.logits + (D.embed.weight[y] * plain.features).sum(1)
    assert torch.allclose(out.logits, by_hand, atol=1e-6)
    assert torch.equal(out.features, plain.features)


def test_label_input_concatenates_one_hot_planes():
    seen = {}

    class Body(torch.nn.Module):
        def forward(self, x):
            seen["x"] = x
            return x

    images = torch.randn(2, 1, 4, 4)
    LabelInput(Body(), 3)(images, torch.tensor([2, 0]))
    x = seen["x"]
    assert x.shape == (2, 4, 4, 4) and torch.equal(x[:, :1], images)
    assert torch.equal(x[0, 1:, 0, 0], torch.tensor([0.0, 0.0, 1.0]))
    assert torch.equal(x[1, 1:].amax((1, 2)), torch.tensor([1.0, 0.0, 0.0]))
    assert x[:, 1:].std((2, 3)).max() == 0  # constant over the plane


def test_caae_image_terms_by_hand():
    from gankit.losses.image import l1_reconstruction, total_variation

    x = torch.tensor([[[[0.0, 1.0], [3.0, 5.0]]]])
    assert total_variation(x).item() == pytest.approx((3 + 4) / 2 + (1 + 2) / 2)
    assert l1_reconstruction(x, torch.zeros_like(x)).item() == pytest.approx(9 / 4)


# --------------------------------------------------------------------- gradients to the heads

def test_infogan_mutual_information_reaches_q_and_g():
    """TorchGAN #100: a bound rebuilt as a new tensor gave Q and G no gradient."""
    run = build("infogan")
    recipe = run.recipe
    d_terms = recipe.run_phase(recipe.phases()[0], context(run)).terms
    q_head = recipe.nets["D"].heads["q"]
    grads = torch.autograd.grad(d_terms["d_info"], list(q_head.parameters()))
    assert all(g.abs().sum() > 0 for g in grads)
    g_terms = recipe.run_phase(recipe.phases()[1], context(run, 1)).terms
    g_grads = torch.autograd.grad(g_terms["g_info"], list(recipe.nets["G"].parameters()))
    assert sum(g.abs().sum() for g in g_grads) > 0


def test_projection_loss_reaches_the_class_embedding():
    run = build("projection")
    recipe = run.recipe
    terms = recipe.run_phase(recipe.phases()[0], context(run)).terms
    (grad,) = torch.autograd.grad(terms["d_loss"], [recipe.nets["D"].embed.weight])
    assert (grad.abs().sum(1) > 0).all()  # every class of the batch moved its row


def test_acgan_class_term_reaches_g():
    run = build("acgan")
    recipe = run.recipe
    terms = recipe.run_phase(recipe.phases()[1], context(run)).terms
    grads = torch.autograd.grad(terms["g_class"], list(recipe.nets["G"].parameters()))
    assert sum(g.abs().sum() for g in grads) > 0


# ---------------------------------------------------------------- one real step, label to G

@pytest.mark.parametrize("data", ["ring8", "digits8"])
@pytest.mark.parametrize("recipe", RECIPES)
def test_one_real_step_moves_every_network(recipe, data):
    sections = {"train": {"reuse_fake": False}} if recipe == "caae" else {}
    run = build(recipe, data, **sections)
    before = {k: v.clone() for k, v in run.recipe.nets.state_dict().items()}
    run.fit(1)
    for name, net in run.recipe.nets.items():
        changed = any(not torch.equal(before[f"{name}.{k}"], v)
                      for k, v in net.state_dict().items())
        assert changed, f"{recipe} on {data}: {name} did not change"
    sample = run.sample(4, labels=1) if recipe in CONDITIONAL else run.sample(4)
    assert torch.isfinite(sample).all()


@pytest.mark.parametrize("recipe", CONDITIONAL)
def test_the_class_reaches_g(recipe):
    run = build(recipe, "digits8", **({"train": {"reuse_fake": False}} if recipe == "caae"
                                      else {}))
    a, b = run.sample(4, seed=3, labels=0), run.sample(4, seed=3, labels=5)
    assert not torch.allclose(a, b)
    assert torch.equal(a, run.sample(4, seed=3, labels=0))


def test_infogan_codes_reach_g():
    run = build("infogan", "digits8")
    a = run.sample(4, seed=3, codes={"cat0": 1, "cont0": -1.0})
    assert not torch.allclose(a, run.sample(4, seed=3, codes={"cat0": 2, "cont0": -1.0}))
    assert not torch.allclose(a, run.sample(4, seed=3, codes={"cat0": 1, "cont0": 1.5}))


def test_caae_reconditions_an_input():
    run = build("caae", "digits8", train={"reuse_fake": False})
    x = run.data.reference(3, torch.Generator())[0]
    out = run.recipe.recondition(x, torch.tensor([1, 2, 3]))
    assert out.shape == x.shape
    assert not torch.allclose(out, run.recipe.recondition(x, torch.tensor([4, 5, 6])))


# ------------------------------------------------------------------------------ bad input

def test_conditional_recipes_need_labelled_data():
    for recipe in CONDITIONAL:
        config = tiny_config(recipe, **({"train": {"reuse_fake": False}} if recipe == "caae"
                                        else {}))
        config["data"]["name"] = "swiss-roll"
        with pytest.raises(ConfigError, match=f"recipe {recipe} conditions on the class label, "
                                              f"and this data has no labels"):
            gankit.build(config, progress=False)


@pytest.mark.parametrize("recipe", CONDITIONAL)
def test_conditional_recipes_refuse_unlabelled_data_at_config_time(recipe, monkeypatch):
    """check_data reads the labels a data set's spec declares, so `recipe: acgan` on
    swiss-roll fails when the config is read, not when the run is built."""
    from gankit.data.spec import images_spec, points_spec
    from gankit.recipes import RECIPES as RECIPE_CLASSES

    check = RECIPE_CLASSES[recipe].check_data
    check(points_spec(2, n_classes=8), "ring8", recipe)  # labelled: accepted
    with pytest.raises(ConfigError, match=f"recipe {recipe} conditions on the class label, "
                                          f"and this data has no labels"):
        check(points_spec(2), "swiss-roll", recipe)
    with pytest.raises(ConfigError, match=r"labels of shape \[3\] per example"):
        check(images_spec((3, 28, 28), 10, (3,)), "stacked-mnist", recipe)
    monkeypatch.setattr("gankit.data.known_spec", lambda name: points_spec(2))
    config = tiny_config(recipe, **({"train": {"reuse_fake": False}} if recipe == "caae"
                                    else {}))
    config["data"]["name"] = "swiss-roll"
    with pytest.raises(ConfigError, match=f"recipe {recipe} conditions on the class label"):
        build_config(config)


def test_conditional_recipes_refuse_one_label_per_channel():
    config = tiny_config("cgan", "digits8")
    config["data"] = {"name": "stacked-mnist", "batch_size": 16, "n_eval": 50}
    with pytest.raises(ConfigError, match=r"labels of shape \[3\] per example"):
        gankit.build(config, progress=False)


def test_conditional_recipes_refuse_packing():
    with pytest.raises(ConfigError, match="recipe cgan does not use model.pack=2"):
        build_config(tiny_config("cgan", model={"pack": 2}))


@pytest.mark.parametrize(("options", "words"), [
    ({"categorical": [1]}, r"infogan.categorical\[0\] must be in \[2, 2\^16\].*got 1"),
    ({"categorical": [], "continuous": 0}, "infogan needs at least one code"),
    ({"categorical": 10}, "infogan.categorical must be a list of at most 64 ints, got int 10"),
    ({"categorical": [10, "a"]}, r"infogan.categorical\[1\] must be int, got str 'a'"),
    ({"noise": "gamma"}, "infogan.noise must be one of normal, uniform, got 'gamma'"),
])
def test_bad_infogan_codes(options, words):
    with pytest.raises(ConfigError, match=words):
        build_config(tiny_dict(recipe="infogan", infogan=options))


def test_infogan_codes_from_the_command_line_and_back():
    config = build_config(tiny_dict(recipe="infogan"), ["infogan.categorical=[10, 4]"])
    assert config.options.categorical == (10, 4)
    from gankit.configuration.yaml_io import dump_yaml, load_yaml

    assert load_yaml(dump_yaml(config.to_dict()), "x")["infogan"]["categorical"] == [10, 4]
    run = gankit.build(config, progress=False, snapshots=False)
    assert [c.name for c in run.recipe.layout.codes] == ["cat0", "cat1", "cont0", "cont1"]


def test_projection_defaults_to_the_hinge_loss():
    config = tiny_dict(recipe="projection")
    del config["loss"]
    assert build_config(config).loss.name == "hinge"
    assert build_config(tiny_dict(recipe="projection")).loss.name == "non-saturating"
    assert build_config({"recipe": "gan"}).loss.name == "non-saturating"


def test_labels_on_an_unconditional_run_are_one_line(make_run):
    run = make_run()
    with pytest.raises(GankitError, match="labels \\(--class\\) need a class-conditional run"):
        run.sample(3, labels=1)
    with pytest.raises(GankitError, match="recipe gan is unconditional"):
        run.sample(3, codes={"cat0": 1})
    infogan = build("infogan")
    with pytest.raises(GankitError, match="recipe infogan has no class; its codes are cat0"):
        infogan.sample(3, labels=1)


def test_mixture_batches_carry_their_component():
    from gankit.configuration.schema import DataConfig
    from gankit.data import build_data

    data = build_data(DataConfig(name="grid25"))
    batch = data.sample(400, torch.Generator().manual_seed(0))
    assert data.spec.n_classes == 25 and batch["label"].dtype == torch.int64
    nearest = torch.cdist(batch["x"], data.modes).argmin(1)
    assert torch.equal(nearest, batch["label"])
    again = data.points(400, torch.Generator().manual_seed(0))
    assert torch.equal(again, batch["x"])  # the same stream as before labels
    data.spec.check(batch)


def test_caae_options_add_their_terms_and_the_paper_setting_leaves_them_out():
    paper = build("caae", train={"reuse_fake": False})  # the dataclass defaults: the paper's
    d_terms = paper.recipe.run_phase(paper.recipe.phases()[0], context(paper)).terms
    g_terms = paper.recipe.run_phase(paper.recipe.phases()[1], context(paper)).terms
    assert set(d_terms) == {"d_z", "d_img"} and set(g_terms) == {"g_rec", "g_z", "g_img"}
    assert not isinstance(paper.recipe.nets["Dz"], LabelInput)
    ours = build("caae", train={"reuse_fake": False},
                 caae={"z_given_label": True, "recondition_weight": 0.5})
    assert isinstance(ours.recipe.nets["Dz"], LabelInput)
    d_terms = ours.recipe.run_phase(ours.recipe.phases()[0], context(ours)).terms
    g_terms = ours.recipe.run_phase(ours.recipe.phases()[1], context(ours)).terms
    assert "d_recondition" in d_terms and "g_recondition" in g_terms
    ours.fit(1)


def test_other_classes_never_repeat_the_label():
    run = build("caae", train={"reuse_fake": False})
    labels = torch.arange(8).repeat(40)[:32]
    others = run.recipe.other_classes(labels, context(run))
    assert (others != labels).all() and others.min() >= 0 and others.max() < 8


def test_infogan_networks_of_the_reference():
    """dcgan-fc: DCGAN with the 1024-unit layers of InfoGAN's MNIST networks."""
    from gankit.models.dcgan import FC_WIDTH

    config = tiny_config("infogan", "digits8")
    config["model"]["name"] = "dcgan-fc"
    run = gankit.build(config, progress=False, snapshots=False)
    D = run.recipe.nets["D"]
    out = D(torch.zeros(3, 1, 8, 8))
    assert out.features.shape == (3, FC_WIDTH) and out.heads["q"].shape == (3, 10 + 2)
    run.fit(1)


def test_export_names_where_the_codes_lie(tmp_path):
    import json

    from safetensors import safe_open

    from gankit.storage.export import export_generator

    run = build("infogan")
    path = export_generator(run.recipe, "state_dict", tmp_path / "g.safetensors")
    with safe_open(path, "pt") as f:
        metadata = f.metadata()
    layout = json.loads(metadata["latent_layout"])
    assert json.loads(metadata["latent_shape"]) == [2 + 8 + 1]
    assert layout["noise"] == {"start": 0, "stop": 2, "prior": "uniform"}
    assert [c["name"] for c in layout["codes"]] == ["cat0", "cont0"]
    assert layout["codes"][0] == {"name": "cat0", "start": 2, "stop": 10, "kind": "one-hot",
                                  "classes": 8}
