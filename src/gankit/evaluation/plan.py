"""What a run measures and draws: the plan :func:`~gankit.evaluation.plan_for` makes, and the
snapshot hook that carries it out during training.

Everything draws from its own seeded generator with the networks in eval mode and no
gradients, so a snapshot never changes the training run (resume stays bit-exact) and
``gankit eval`` at step s repeats the snapshot of step s.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from gankit.errors import GankitError
from gankit.evaluation.features import feature_name
from gankit.evaluation.latents import LatentSource
from gankit.metrics.extractors import FeatureExtractor
from gankit.registry import Registry
from gankit.storage.drawing import Drawing, draw_later, draw_now, result

if TYPE_CHECKING:
    from gankit.training.trainer import Trainer

EVAL_SEED = 20140610  # fixed, distinct from training seeds: every evaluation sees the same z


class NoFeatureSpace(GankitError):
    """Images asked to be measured with no feature space to measure them in."""


NO_FEATURE_SPACE = ("these images have no feature space to be measured in: give one, "
                    "--features FILE (fitted on the real images by 'gankit features fit DATA "
                    "--out FILE') or --features inception --weights PATH (in Python: "
                    "run.evaluate(features=...))")


@dataclass
class Measurement:
    """One evaluation's metrics, with the samples they were computed on when a picture of the
    same snapshot draws them (the toy plot shows the measured points)."""

    metrics: dict[str, float]
    fake: Tensor | None = None  # [n, ...] on the CPU
    real: Tensor | None = None
    # the class of each point, for pictures that colour them: the code a generated point was
    # asked for (a conditional recipe's class, InfoGAN's first categorical code), a real
    # point's label; None where there is none
    fake_labels: Tensor | None = None
    real_labels: Tensor | None = None
    # how many real examples the metrics compared the n generated ones with, where a finite
    # data set can hold fewer than n (a folder of 200 images at n = 2,500); None: n fresh draws
    n_real: int | None = None
    # the metrics as a periodic snapshot measures them, where this full measurement differs
    # (the toy W1 over all points, not the snapshots' first 300): logged as the curve's
    # point, so that curves, 'gankit compare' and train.keep_best compare like with like
    curve: dict[str, float] | None = None
    # what a full measurement still adds once the snapshot's pictures are handed to the
    # drawing process (the toy W1 over all points, a second or so): no picture needs it, so
    # drawing and this run side by side; :meth:`complete` adds it
    rest: Callable[[], dict[str, float]] | None = None

    def complete(self) -> Measurement:
        """This measurement with :attr:`rest` computed into its metrics."""
        if self.rest is None:
            return self
        return replace(self, metrics=self.metrics | self.rest(), rest=None)


# (n, seed, features, device, full) -> Measurement; ``full`` False is the cheaper periodic
# measurement during training (StackedMNIST counts modes over n, not 26,000).
Measure = Callable[[int, int, "FeatureExtractor | None", torch.device, bool], Measurement]
# (trainer, the snapshot's measurement) -> what to draw into the run directory, with what needs
# the networks computed already (gankit.storage.drawing draws it in another process); None:
# nothing to draw (points in 3 or more dimensions)
Picture = Callable[["Trainer", Measurement], "Drawing | None"]
# (a feature-space name or an extractor or None, a weights file, device) -> extractor or None
FeatureChoice = Callable[[Any, "str | None", "torch.device | str"], "FeatureExtractor | None"]


# A data kind (the data source's ``kind``, set in gankit.data) -> the plan for a run on it,
# (recipe, data, latents) -> EvaluationPlan; each plan registers itself in its own module of
# this package. ``translates=True``: a plan for the recipes that translate (their latents None).
PlanMaker = Callable[[Any, Any, "LatentSource | None"], "EvaluationPlan"]
PLANS: Registry[PlanMaker] = Registry("data kind", package="gankit.evaluation")


def no_features(features: Any, weights: str | None, device: torch.device | str) -> None:
    """A plan that measures nothing needs no feature space."""
    return None


@dataclass(frozen=True)
class EvaluationPlan:
    """What a run measures and draws, and where its latents come from.

    ``measure`` None: nothing to measure (a recipe without an unconditional generator); the
    snapshot then draws the training curves alone. ``pictures`` maps a TensorBoard tag to what
    draws it, in order; the training curves (``training``) come last in every plan.
    """

    kind: str  # the data's kind the plan was made for: "points", "images"
    latents: LatentSource  # Run.sample, gankit sample, the metrics and the pictures draw here
    measure: Measure | None = None
    pictures: Mapping[str, Picture] = field(default_factory=dict)
    features: FeatureChoice = no_features  # resolves eval's --features / --weights
    default_features: str | None = None  # the feature space of the run's own record, eval.json
    # images: without a feature space an evaluation would measure next to nothing, so
    # :meth:`measurement` refuses it instead of returning an empty record
    needs_features: bool = False
    # the metrics ``measure`` reports, where the plan knows them before it runs (points);
    # None where they depend on what is measured (images): train.keep_best checks its metric
    # against them before the first step (gankit.training.best.check_measured)
    measures: frozenset[str] | None = None

    def measurement(self, n: int, seed: int, features: FeatureExtractor | None,
                    device: torch.device) -> Measurement:
        """A full measurement (what ``gankit eval`` reports), with the counts it was
        measured on; no metrics where the plan measures nothing (a recipe without an
        unconditional generator). Images without a feature space are refused in one line
        that says what to give."""
        if self.measure is None:
            return Measurement({})
        if features is None and self.needs_features:
            raise NoFeatureSpace(NO_FEATURE_SPACE)
        return self.measure(n, seed, features, device, True).complete()

    def measured_in(self, features: str, device: torch.device | str) -> EvaluationPlan:
        """This plan with ``features`` (``data.features``: a registered name or a fitted
        feature file) as the run's own feature space, resolved now, so that a file that does
        not fit the data is refused before any work: snapshots, ``eval`` without
        ``--features`` and eval.json's record use it."""
        chosen = self.features(features, None, device)
        resolve = self.features

        def features_of(choice: Any, weights: str | None, device: torch.device | str
                        ) -> FeatureExtractor | None:
            return chosen if choice is None else resolve(choice, weights, device)

        return replace(self, features=features_of, default_features=feature_name(chosen))

    def hooks(self, n_eval: int, device: torch.device | str) -> list[Callable[[Trainer], None]]:
        """The trainer hooks of a run: one snapshot, in the default feature space."""
        return [snapshot_hook(self, n_eval, self.features(None, None, device))]


def eval_settings(n: int, features: str | None, seed: int, n_real: int | None = None
                  ) -> dict[str, object]:
    """How a set of metrics was measured, recorded with them (eval.json, ``gankit train``'s
    result): two evaluations compare only when these agree. ``n`` is the generated count;
    ``n_real`` the real images compared with them, recorded for image data (a finite set may
    hold fewer than n)."""
    counts = {"n": n} if n_real is None else {"n": n, "n_real": n_real}
    return {**counts, "features": features, "seed": seed}


def snapshot_hook(plan: EvaluationPlan, n_eval: int, features: FeatureExtractor | None
                  ) -> Callable[[Trainer], None]:
    """A trainer hook: the plan's metrics (``eval/`` curves; at the final step measured in
    full, so they are the run's result and equal ``gankit eval``'s), its pictures and the
    training curves, each also in TensorBoard.

    The pictures are drawn by :mod:`gankit.storage.drawing`'s process
    (``train.draw_in_background``), so training goes on while they are drawn; each reaches
    TensorBoard at the first snapshot after it is drawn, and the final snapshot waits for
    all of them, so every picture is written when ``fit`` returns."""
    handed: list[tuple[str, int, Drawing, Future[bytes | None]]] = []  # not yet in TensorBoard

    def snapshot(trainer: Trainer) -> None:
        from gankit.evaluation.plots import plot_training_curves  # matplotlib: when drawing
        from gankit.training.runlog import read_metrics

        measured = Measurement({})
        # images without a feature space: no record at all rather than one of settings alone
        # (the run warned once at its start; eval.json is not written)
        measures = plan.measure is not None and not (plan.needs_features and features is None)
        if measures:
            measured = plan.measure(n_eval, EVAL_SEED, features, trainer.device,
                                    trainer.at_final_step)
            trainer.log_eval(*_record(measured, n_eval, features))  # the curves' newest point
        if trainer.run_dir is not None:
            draw = draw_later if trainer.config.train.draw_in_background else draw_now
            png = trainer.logger is not None
            drawings = [(tag, drawing) for tag, picture in plan.pictures.items()
                        if (drawing := picture(trainer, measured)) is not None]
            drawings.append(("training", Drawing(
                plot_training_curves, trainer.run_dir / "training.png",
                (read_metrics(trainer.run_dir),), {"terms": trainer.term_names})))
            for tag, drawing in drawings:
                # a picture redrawn in place (training.png) while its last drawing is still
                # waiting: this one is left out, so the drawing process never falls behind
                # on pictures that only the newest of counts; the final one is always drawn
                if trainer.at_final_step or not any(
                        was.path == drawing.path and not future.done()
                        for _, _, was, future in handed):
                    handed.append((tag, trainer.step, drawing, draw(drawing, png)))
        if measured.rest is not None:  # while the pictures are drawn
            trainer.log_eval(*_record(measured.complete(), n_eval, features),
                             curve_logged=True)
        waiting = []
        for tag, step, drawing, future in handed:
            if not (future.done() or trainer.at_final_step):
                waiting.append((tag, step, drawing, future))
                continue
            image = result(drawing, future, png=trainer.logger is not None)
            if image is not None and trainer.logger is not None:
                trainer.logger.image(tag, image, step)
        handed[:] = waiting

    return snapshot


def _record(measured: Measurement, n_eval: int, features: FeatureExtractor | None
            ) -> tuple[dict[str, float], dict[str, object], dict[str, float] | None]:
    """What :meth:`~gankit.training.trainer.Trainer.log_eval` takes for ``measured``."""
    return (measured.metrics, eval_settings(n_eval, feature_name(features), EVAL_SEED,
                                            measured.n_real), measured.curve)
