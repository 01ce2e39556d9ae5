"""Evaluating a generator with codes: is the class it is asked for the class it draws, does
InfoGAN's categorical code find the digits without labels, does CAAE keep a digit's style
under another class. And the pictures that show it: one row per class, InfoGAN's code
traversals, CAAE's inputs with their re-conditioned outputs.

Classes are judged by a *labeller*: the project's digit classifier on digit images, the
nearest mode on a Gaussian mixture (the component the point belongs to). Data without one (a
folder of one's own images) gets the pictures and no class metrics.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
from torch import Tensor

from gankit.evaluation.latents import LatentSource, generate, in_eval_mode
from gankit.evaluation.plan import EVAL_SEED, EvaluationPlan, Measurement
from gankit.metrics.classifier import matched_accuracy
from gankit.metrics.digits import ChannelwiseClassifier
from gankit.metrics.extractors import FeatureExtractor
from gankit.metrics.features import fid
from gankit.metrics.mode_collapse import assign_modes
from gankit.models.batch_statistics import with_population_statistics
from gankit.models.latent_layout import CLASS, LatentLayout
from gankit.recipes import Recipe
from gankit.storage.drawing import Drawing

READ_BATCH = 128  # real examples a batch when D's statistics are recomputed (InfoGAN's batch)

if TYPE_CHECKING:
    from gankit.training.trainer import Trainer

Labeller = Callable[[Tensor], Tensor]  # examples [N, ...] -> class int64 [N] (CPU)
TRAVERSAL = torch.linspace(-2, 2, 9)  # a continuous code's values across a traversal grid
COLUMNS = 8  # noise draws per row of a class grid
MIN_PER_CLASS = 2  # FID needs two samples a class for a covariance


def has_codes(recipe: Recipe) -> bool:
    """Whether the recipe's generator takes codes or re-conditions examples."""
    layout = recipe.layout
    return (layout is not None and layout.conditional) or hasattr(recipe, "recondition")


def labeller_for(data: Any, features: FeatureExtractor | None) -> Labeller | None:
    """The nearest mode for a mixture; the digit classifier for one-label digit images."""
    if getattr(data, "kind", None) == "points":
        if getattr(data, "modes", None) is None:
            return None
        modes, std = data.modes, data.mode_std
        return lambda x: torch.from_numpy(assign_modes(x, modes, std)[0]).long()
    if (isinstance(features, ChannelwiseClassifier) and data.spec.n_classes
            and not data.channels_are_examples):
        return lambda x: features.probabilities(x).argmax(1)
    return None


def balanced(n: int, classes: int, device: torch.device | str) -> Tensor:
    """0, 1, ..., K-1, 0, 1, ...: n labels, as even as n allows."""
    return torch.arange(n, device=device) % classes


def categorical_codes(layout: LatentLayout) -> list[str]:
    return [code.name for code in layout.codes if code.categorical]


def class_metrics(recipe: Recipe, latents: LatentSource, data: Any, labeller: Labeller,
                  n: int, seed: int, device: torch.device,
                  features: FeatureExtractor | None) -> dict[str, float]:
    """``class_accuracy``: how often the labeller names the class each of n samples was
    asked for (classes balanced); with image features, ``intra_fid``: the mean over classes
    of the FID between generated and training images of that class (Miyato & Koyama 2018,
    Sec. 5: "intra-FID"), and ``fid_class_size``, the unconditional FID at the same sample
    sizes (:func:`fid_at_sizes`), its like-for-like yardstick."""
    classes = recipe.layout.code(CLASS).classes
    generator = torch.Generator(device).manual_seed(seed + 1)
    asked = balanced(n, classes, device)
    fake = generate(recipe, recipe.layout.fix(latents.draw(n, generator), {CLASS: asked}))
    asked = asked.cpu()
    metrics = {"class_accuracy": float((labeller(fake) == asked).float().mean())}
    if features is not None and hasattr(data, "images"):
        real, labels = data.reference(len(data), torch.Generator().manual_seed(seed), "train")
        f_real, f_fake = features.features(real), features.features(fake)
        pairs = [(labels == k, asked == k) for k in range(classes)]
        pairs = [(r, f) for r, f in pairs if min(int(r.sum()), int(f.sum())) >= MIN_PER_CLASS]
        if pairs:
            metrics["intra_fid"] = float(np.mean([fid(f_real[r], f_fake[f]) for r, f in pairs]))
            metrics["fid_class_size"] = fid_at_sizes(f_real, f_fake, pairs, seed)
    return metrics


def fid_at_sizes(f_real: Tensor, f_fake: Tensor, pairs: list[tuple[Tensor, Tensor]],
                 seed: int) -> float:
    """The unconditional FID at the sample sizes intra-FID has: for each class's pair of
    masks, random subsets of as many real and generated examples of any class, the FIDs
    averaged. FID is biased upward by an amount that grows as the sample shrinks (Chong &
    Forsyth 2020), so intra-FID over ~500 samples a class against the FID over all n is not
    like for like; against this it is (a generator whose classes are all right scores the
    same on both)."""
    generator = torch.Generator().manual_seed(seed)
    values = []
    for real_mask, fake_mask in pairs:
        real_pick = torch.randperm(len(f_real), generator=generator)[:int(real_mask.sum())]
        fake_pick = torch.randperm(len(f_fake), generator=generator)[:int(fake_mask.sum())]
        values.append(fid(f_real[real_pick], f_fake[fake_pick]))
    return float(np.mean(values))


def real_examples(data: Any, n: int, seed: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Up to n labelled real examples the generator did not train on where the data has a
    held-out split (images), fresh draws for a distribution (points); CPU."""
    if hasattr(data, "held_out") and data.held_out is not None:
        return data.reference(n, torch.Generator().manual_seed(seed), "held_out")
    batch = data.sample(n, torch.Generator(device).manual_seed(seed), device)
    return batch["x"].cpu(), batch["label"].cpu()


def training_examples(data: Any, n: int, seed: int) -> Tensor:
    """Up to n real training examples (CPU): D's real batches were drawn from these."""
    if hasattr(data, "reference"):
        return data.reference(n, torch.Generator().manual_seed(seed))[0]
    return data.sample(n, torch.Generator().manual_seed(seed))["x"]


def code_metrics(recipe: Recipe, latents: LatentSource, data: Any, labeller: Labeller,
                 n: int, seed: int, device: torch.device) -> dict[str, float]:
    """For each categorical code found without labels (InfoGAN): ``NAME_accuracy``, the
    labeller's classes of samples drawn at each code value under their best one-to-one match
    to the values (Hungarian); and, from the recipe's Q, ``unsupervised_accuracy``: Q's guess
    of the first code on real held-out examples, matched to their true labels the same way,
    with D's batch-norm statistics those of real training batches
    (:func:`gankit.models.batch_statistics.with_population_statistics`)."""
    layout, metrics = recipe.layout, {}
    generator = torch.Generator(device).manual_seed(seed + 2)
    for name in categorical_codes(layout):
        classes = layout.code(name).classes
        asked = balanced(n, classes, device)
        fake = generate(recipe, layout.fix(latents.draw(n, generator), {name: asked}))
        metrics[f"{name}_accuracy"] = matched_accuracy(asked.cpu(), labeller(fake), classes,
                                                       data.spec.n_classes)
    infer = getattr(recipe, "infer_codes", None)
    if infer is not None and categorical_codes(layout):
        first = categorical_codes(layout)[0]
        real, labels = real_examples(data, n, seed, device)
        # Q reads real examples under the statistics D normalized real batches by (precise BN)
        reader = with_population_statistics(
            recipe.nets["D"], (x.to(device) for x in
                               training_examples(data, n, seed + 3).split(READ_BATCH)))
        guessed = in_eval_mode(recipe, lambda x: infer(x.to(device), reader)[first],
                               real).long()
        metrics["unsupervised_accuracy"] = matched_accuracy(
            guessed, labels, layout.code(first).classes, data.spec.n_classes)
    return metrics


def reconditioned(recipe: Recipe, x: Tensor, labels: Tensor, device: torch.device) -> Tensor:
    """CAAE's G(E(x), l) for examples x [N, ...] and classes [N], in eval mode, on the CPU."""
    return in_eval_mode(recipe, lambda a, b: recipe.recondition(a.to(device), b.to(device)),
                        x, labels)


def recondition_metrics(recipe: Recipe, data: Any, labeller: Labeller | None, n: int,
                        seed: int, device: torch.device, features: FeatureExtractor | None
                        ) -> dict[str, float]:
    """CAAE on up to n real held-out examples x of class y: ``reconstruction_l1``, the mean
    |x - G(E(x), y)|; ``recondition_accuracy``, how often G(E(x), y') is labelled y' over
    every other class y'; with image features, ``style_ratio``: the mean feature distance of
    G(E(x), y') to its source x over that of a random training example of class y' to x
    (below 1: the output keeps more of x than its class alone explains)."""
    real, labels = real_examples(data, n, seed, device)
    classes = data.spec.n_classes
    rebuilt = reconditioned(recipe, real, labels, device)
    metrics = {"reconstruction_l1": float((real - rebuilt).abs().mean())}
    shifts = torch.arange(1, classes).repeat_interleave(len(real))  # every other class
    sources = real.repeat(classes - 1, *[1] * (real.dim() - 1))
    targets = (labels.repeat(classes - 1) + shifts) % classes
    outputs = reconditioned(recipe, sources, targets, device)
    if labeller is not None:
        metrics["recondition_accuracy"] = float((labeller(outputs) == targets).float().mean())
    if features is not None and hasattr(data, "images"):
        pool, pool_labels = data.reference(len(data), torch.Generator().manual_seed(seed),
                                           "train")
        pick = torch.Generator().manual_seed(seed + 3)
        references = torch.stack([pool[pool_labels == t][torch.randint(
            int((pool_labels == t).sum()), (1,), generator=pick)][0] for t in targets.tolist()])
        f_source, f_out = features.features(sources), features.features(outputs)
        f_reference = features.features(references)
        metrics["style_ratio"] = float((f_out - f_source).norm(dim=1).mean()
                                       / (f_reference - f_source).norm(dim=1).mean())
    return metrics


# ------------------------------------------------------------------------------ pictures

def class_names(classes: int) -> list[str]:
    """What a picture calls each class: its index, as the labels and the codes number them
    (no data set of gankit's names its classes otherwise)."""
    return [f"class {k}" for k in range(classes)]


def class_grid(recipe: Recipe, latents: LatentSource, device: torch.device, path: Path,
               columns: int = COLUMNS) -> Drawing:
    """One row per class, named, the same ``columns`` noise draws in every row."""
    from gankit.evaluation.plots import Grid, save_grids

    classes = recipe.layout.code(CLASS).classes
    z = latents.draw(columns, torch.Generator(device).manual_seed(EVAL_SEED))
    rows = z.repeat(classes, 1)
    rows = recipe.layout.fix(rows, {CLASS: balanced(classes, classes, device)
                                    .repeat_interleave(columns)})
    return Drawing(save_grids, path, ([Grid(generate(recipe, rows).numpy(), columns,
                                            "one row per class", class_names(classes))],))


def traversal_grids(recipe: Recipe, latents: LatentSource, device: torch.device,
                    folder: Path) -> dict[str, Drawing]:
    """InfoGAN's pictures (Chen et al. 2016, Fig. 2): ``codes-CAT.png`` for the first
    categorical code (rows: its values; columns: noise draws) and ``codes-CONT.png`` for each
    continuous code (rows: the categorical values, or noise draws without one; columns: the
    code from -2 to 2, everything else fixed). Rows and columns are named by their values."""
    from gankit.evaluation.plots import Grid, save_grids

    layout, written = recipe.layout, {}
    generator = torch.Generator(device).manual_seed(EVAL_SEED)
    cats = categorical_codes(layout)
    rows_code = cats[0] if cats else None
    n_rows = layout.code(rows_code).classes if rows_code else COLUMNS
    row_values = {rows_code: balanced(n_rows, n_rows, device)} if rows_code else {}
    row_names = ([f"{rows_code} = {k}" for k in range(n_rows)] if rows_code
                 else [f"noise {k + 1}" for k in range(n_rows)])
    if rows_code:
        z = latents.draw(COLUMNS, generator).repeat(n_rows, 1)
        z = layout.fix(z, {rows_code: row_values[rows_code].repeat_interleave(COLUMNS)})
        written[f"codes-{rows_code}"] = Drawing(save_grids, folder / f"codes-{rows_code}.png", (
            [Grid(generate(recipe, z).numpy(), COLUMNS, f"{rows_code}: one row per value",
                  row_names)],))
    base = latents.draw(1 if rows_code else n_rows, generator)
    for code in layout.codes:
        if code.categorical:
            continue
        steps = len(TRAVERSAL)
        z = base.repeat_interleave(steps, 0) if not rows_code else base.repeat(n_rows * steps, 1)
        fixed: dict[str, Tensor] = {code.name: TRAVERSAL.to(device).repeat(n_rows)}
        if rows_code:
            fixed[rows_code] = row_values[rows_code].repeat_interleave(steps)
        written[f"codes-{code.name}"] = Drawing(save_grids, folder / f"codes-{code.name}.png", (
            [Grid(generate(recipe, layout.fix(z, fixed)).numpy(), steps,
                  f"{code.name} from {TRAVERSAL[0]:g} to {TRAVERSAL[-1]:g}", row_names,
                  [f"{v:g}" for v in TRAVERSAL.tolist()])],))
    return written


def recondition_grid(recipe: Recipe, data: Any, device: torch.device, path: Path) -> Drawing:
    """CAAE's picture: one held-out example of each class per row, then its outputs under
    every class (the column of its own class is its reconstruction)."""
    from gankit.evaluation.plots import Grid, save_grids

    real, labels = real_examples(data, len(data.held_out), EVAL_SEED, device)
    classes = data.spec.n_classes
    kept = [k for k in range(classes) if (labels == k).any()]
    firsts = [int(torch.nonzero(labels == k)[0]) for k in kept]
    sources = real[firsts]
    x = sources.repeat_interleave(classes, 0)
    y = balanced(classes, classes, "cpu").repeat(len(firsts))
    outputs = reconditioned(recipe, x, y, device)
    grid = torch.cat([sources[:, None], outputs.reshape(len(firsts), classes, *real.shape[1:])],
                     1)
    names = class_names(classes)
    return Drawing(save_grids, path, ([Grid(grid.reshape(-1, *real.shape[1:]).numpy(),
                                            classes + 1, "a held-out example, then G(E(x), class)",
                                            [names[k] for k in kept], ["input", *names])],))


# ------------------------------------------------------------------------------ the plan

def with_codes(plan: EvaluationPlan, recipe: Recipe, data: Any) -> EvaluationPlan:
    """``plan`` with the code metrics added to each measurement and the code pictures: for a
    class-conditional recipe the image grid becomes one row per class, InfoGAN adds its
    traversals, CAAE its re-conditioned rows. Points keep their picture, coloured by class."""
    latents, base_measure = plan.latents, plan.measure
    layout = recipe.layout
    reconditions = hasattr(recipe, "recondition")

    def measure(n: int, seed: int, features: FeatureExtractor | None, device: torch.device,
                full: bool) -> Measurement:
        measured = base_measure(n, seed, features, device, full)
        labeller = labeller_for(data, features)
        metrics = dict(measured.metrics)
        image_features = features if plan.kind == "images" else None
        if reconditions:
            metrics |= recondition_metrics(recipe, data, labeller, n, seed, device,
                                           image_features)
        elif labeller is not None and CLASS in layout.slices():
            metrics |= class_metrics(recipe, latents, data, labeller, n, seed, device,
                                     image_features)
        elif labeller is not None and categorical_codes(layout) and data.spec.n_classes:
            metrics |= code_metrics(recipe, latents, data, labeller, n, seed, device)
        return dataclasses.replace(measured, metrics=metrics)

    pictures = dict(plan.pictures)
    if plan.kind == "images":
        if CLASS in layout.slices():
            def rows(trainer: Trainer, measured: Measurement) -> Drawing:
                path = trainer.run_dir / "samples" / f"step-{trainer.step:07d}.png"
                return class_grid(recipe, latents, trainer.device, path)

            pictures["samples"] = rows
        if reconditions and getattr(data, "held_out", None) is not None:
            def recondition(trainer: Trainer, measured: Measurement) -> Drawing:
                return recondition_grid(recipe, data, trainer.device,
                                        trainer.run_dir / "recondition.png")

            pictures["recondition"] = recondition
        elif not reconditions and CLASS not in layout.slices():
            drawn: dict[int, dict[str, Drawing]] = {}  # step -> every traversal, made once
            for name in _traversal_names(layout):
                pictures[name] = _traversal(recipe, latents, name, drawn)
    return dataclasses.replace(plan, measure=measure, pictures=pictures)


def _traversal_names(layout: LatentLayout) -> list[str]:
    """The pictures :func:`traversal_grids` draws: the first categorical code, every
    continuous one."""
    cats = categorical_codes(layout)
    return [f"codes-{name}" for name in cats[:1]] + [
        f"codes-{code.name}" for code in layout.codes if not code.categorical]


def _traversal(recipe: Recipe, latents: LatentSource, name: str,
               drawn: dict[int, dict[str, Drawing]]
               ) -> Callable[[Trainer, Measurement], Drawing]:
    """The picture ``name`` of the traversals, all generated together once per snapshot."""

    def picture(trainer: Trainer, measured: Measurement) -> Drawing:
        if trainer.step not in drawn:
            drawn.clear()
            drawn[trainer.step] = traversal_grids(recipe, latents, trainer.device,
                                                  trainer.run_dir)
        return drawn[trainer.step][name]

    return picture
