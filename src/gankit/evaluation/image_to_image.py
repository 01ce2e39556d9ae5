"""Evaluating an image-to-image run on held-out images: how close each output is to its target
(L1, PSNR, SSIM: paired data), whether it looks like domain B (FID in the digit classifier's
space) and keeps what the input showed (label preservation: the classifier's label of the
output equals the source's, the analogue of the FCN score of Isola et al. 2017, Sec. 4.2), and
for CycleGAN how well each cycle returns (|F(G(a)) - a|). And the picture of a snapshot:
input | output | target rows (x | G(x) | F(G(x)) for both domains of a CycleGAN).

Everything runs the networks in eval mode (:mod:`gankit.recipes.pix2pix` says why) on the
held-out images in their order, so the figures need no seed and repeat exactly.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.evaluation.features import default_feature_name, feature_extractor
from gankit.evaluation.latents import PriorLatents, in_eval_mode
from gankit.evaluation.plan import PLANS, EvaluationPlan, Measurement
from gankit.losses.image import l1_reconstruction
from gankit.metrics.digits import ChannelwiseClassifier
from gankit.metrics.extractors import FeatureExtractor
from gankit.metrics.features import fid
from gankit.metrics.image_quality import (
    SSIM_SIGMA,
    gaussian_window,
    mean_absolute_error,
    psnr,
    ssim,
)
from gankit.recipes.translation import TranslationRecipe
from gankit.storage.drawing import Drawing

if TYPE_CHECKING:
    from gankit.training.trainer import Trainer

PICTURE_COLUMNS = 8  # held-out examples in a snapshot's rows
MIN_FID_IMAGES = 10  # a covariance needs a few images more than none


def translate_images(recipe: TranslationRecipe, images: Tensor, direction: str = "AtoB"
                     ) -> Tensor:
    """Translations [N, C, S, S] (CPU) of images [N, C, S, S] in [-1, 1] (any device), in eval
    mode without gradients, in chunks; a non-finite output is one clear error."""
    network = recipe.translator(direction)
    device = next(network.parameters()).device
    out = in_eval_mode(recipe, lambda x: network(x.to(device, torch.float32)), images,
                       chunk=256)
    if not torch.isfinite(out).all():
        raise GankitError("the translator outputs NaN or inf; its weights are not finite "
                          "(use an earlier checkpoint)")
    return out.float()


@PLANS.register("pairs", translates=True)
@PLANS.register("unpaired", translates=True)
def translation_plan(recipe: TranslationRecipe, data: Any, latents: None = None) -> EvaluationPlan:
    """The held-out metrics (:func:`translation_metrics`) and ``samples/step-*.png``; a
    translation draws no latents."""

    def features(choice: Any, weights: str | None, device: torch.device | str
                 ) -> FeatureExtractor | None:
        if isinstance(choice, FeatureExtractor):
            return choice
        return feature_extractor(data, choice, weights, device)

    def measure(n: int, seed: int, features: FeatureExtractor | None, device: torch.device,
                full: bool) -> Measurement:
        return Measurement(translation_metrics(recipe, data, n, features))

    def rows(trainer: Trainer, measured: Measurement) -> Drawing:
        path = trainer.run_dir / "samples" / f"step-{trainer.step:07d}.png"
        return translation_rows(recipe, data, path)

    return EvaluationPlan(data.kind, PriorLatents(recipe), measure, {"samples": rows},
                          features, default_feature_name(data))


def translation_metrics(recipe: TranslationRecipe, data: Any, n: int,
                        features: FeatureExtractor | None) -> dict[str, float]:
    """Metrics of the first ``n`` held-out images (fewer if the split is smaller: how many is
    ``held_out_images``), each way the recipe translates: A to B without suffix, B to A with
    ``_ba``, and the cycle errors."""
    held = data.held_out()
    a, b = held.a[:n], held.b[:n]
    labels_a = None if held.labels_a is None else held.labels_a[:n]
    labels_b = None if held.labels_b is None else held.labels_b[:n]
    out_b = translate_images(recipe, a, "AtoB")
    metrics = {"held_out_images": len(a),
               **direction_metrics(out_b, a, b, held.paired, labels_a, labels_b, features)}
    if "BtoA" in recipe.translators:
        out_a = translate_images(recipe, b, "BtoA")
        back = direction_metrics(out_a, b, a, held.paired, labels_b, labels_a, features)
        metrics |= {f"{key}_ba": value for key, value in back.items()}
        metrics["cycle_l1_a"] = l1_reconstruction(a, translate_images(recipe, out_b, "BtoA")
                                                  ).item()
        metrics["cycle_l1_b"] = l1_reconstruction(b, translate_images(recipe, out_a, "AtoB")
                                                  ).item()
    return metrics


def direction_metrics(output: Tensor, source: Tensor, reference: Tensor, paired: bool,
                      source_labels: Tensor | None, reference_labels: Tensor | None,
                      features: FeatureExtractor | None) -> dict[str, float]:
    """One direction's figures. Paired: ``l1``, ``psnr``, ``ssim`` of each output against its
    target (SSIM for images of at least its 11x11 window). With a feature space: ``fid`` of the
    outputs against the real images of the output's domain and, as its yardstick,
    ``fid_input``, the inputs' own FID there (a translation that changes nothing scores it).
    With the digit classifier and labels: ``label_preservation``, the share of outputs
    classified as their source's label, and ``label_accuracy_real``, the classifier's accuracy
    on the real images of the output's domain (what a perfect translation could score)."""
    metrics: dict[str, float] = {}
    if paired:
        metrics["l1"] = mean_absolute_error(output, reference).mean().item()
        metrics["psnr"] = psnr(output, reference).mean().item()
        if min(output.shape[-2:]) >= len(gaussian_window(SSIM_SIGMA)):  # SSIM's 11x11 window
            metrics["ssim"] = ssim(output, reference).mean().item()
    if features is None:
        return metrics
    (f_out, label_out), (f_real, label_real) = _read(features, output), _read(features, reference)
    if len(output) >= MIN_FID_IMAGES and output.shape[1:] == reference.shape[1:]:
        metrics["fid"] = fid(f_real, f_out)
        if source.shape[1:] == reference.shape[1:]:
            metrics["fid_input"] = fid(f_real, features.features(source))
    if label_out is not None and source_labels is not None:
        metrics["label_preservation"] = (label_out == source_labels).double().mean().item()
        if reference_labels is not None:
            metrics["label_accuracy_real"] = (label_real == reference_labels).double().mean(
                ).item()
    return metrics


def _read(features: FeatureExtractor, images: Tensor) -> tuple[Tensor, Tensor | None]:
    """The features of ``images`` and, from the digit classifier, their labels: one pass."""
    if isinstance(features, ChannelwiseClassifier):
        values, probabilities = features.outputs(images)
        return values, probabilities.argmax(1)
    return features.features(images), None


def translation_rows(recipe: TranslationRecipe, data: Any, path: Path,
                     columns: int = PICTURE_COLUMNS) -> Drawing:
    """The first ``columns`` held-out examples in named rows: input | output | target for a
    one-way recipe; for a two-way one each direction's input | output | cycle, a | G(a) |
    F(G(a)) then b | F(b) | G(F(b))."""
    from gankit.evaluation.plots import Grid, save_grids

    held = data.held_out()
    a, b = held.a[:columns], held.b[:columns]
    out_b = translate_images(recipe, a, "AtoB")
    if "BtoA" in recipe.translators:
        out_a = translate_images(recipe, b, "BtoA")
        rows = [a, out_b, translate_images(recipe, out_b, "BtoA"),
                b, out_a, translate_images(recipe, out_a, "AtoB")]
        names = ["input A", "output A→B", "cycle A→B→A", "input B", "output B→A", "cycle B→A→B"]
    else:
        rows, names = [a, out_b, b], ["input", "output", "target"]
    return Drawing(save_grids, path,
                   ([Grid(_as_rows(rows).numpy(), len(a), "held-out examples", names)],))


def _as_rows(rows: list[Tensor]) -> Tensor:
    """Rows of images stacked into one batch, grey ones repeated to colour where rows mix."""
    channels = max(row.shape[1] for row in rows)
    return torch.cat([row.expand(-1, channels, -1, -1) if row.shape[1] == 1 else row
                      for row in rows])
