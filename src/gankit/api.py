"""The Python API: build a run from a config, fit it, sample from it, evaluate it, load it back.

    import gankit
    run = gankit.build("grid25-wgan-gp", overrides=["train.steps=500"], run_dir="runs/grid")
    run.fit()
    x = run.sample(1000)          # [1000, 2] tensor
    print(run.evaluate())         # {'modes': 25, 'high_quality': ..., 'reverse_kl': ..., 'w1': ...}
    again = gankit.load("runs/grid")
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from copy import deepcopy
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn

from gankit import pretrained
from gankit.configuration.imports import GIVEN
from gankit.configuration.resolve import build_config, load_config
from gankit.configuration.schema import EXTEND_CHOICES, Config, check_n_eval
from gankit.configuration.yaml_io import dump_yaml, read_yaml
from gankit.data import build_data
from gankit.data.given_record import GIVEN_FILE, check_same_data, describe_data
from gankit.errors import CheckpointError, ConfigError, GankitError
from gankit.evaluation import (
    EVAL_SEED,
    EvaluationPlan,
    LatentSource,
    Measurement,
    eval_settings,
    feature_name,
    generate,
    plan_for,
)
from gankit.evaluation.features import is_feature_file
from gankit.metrics.extractors import FeatureExtractor
from gankit.models import given_parts
from gankit.models.latent_layout import CLASS
from gankit.recipes import RECIPES
from gankit.sampling.settings import SamplerSettings, sampler_source
from gankit.sampling.sources import trace_figures
from gankit.storage.export import generator_of
from gankit.storage.files import replace_atomically
from gankit.training import distributed, memory
from gankit.training.best import carry, check_measured, check_same_list
from gankit.training.checkpoint import checkpoint_dir, checkpoint_dirs
from gankit.training.choice import (
    Chosen,
    check_continuation,
    choose,
    folder_given,
    newer_steps,
    run_of,
)
from gankit.training.runlog import read_json_or_none, write_json
from gankit.training.trainer import Trainer


class Run:
    """A configured GAN with its data, trainer and (optionally) its run directory."""

    def __init__(self, config: Config, run_dir: str | Path | None = None,
                 progress: bool = True, snapshots: bool = True,
                 parts: dict[str, nn.Module] | None = None, data: object | None = None,
                 reloaded: bool = False) -> None:
        # Under torchrun: join the process group; CUDA processes take cuda:LOCAL_RANK.
        config.train.device = distributed.init_from_env(config.train.device)
        self.config = config
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.data = build_data(config.data, data)
        # What the run directory keeps of data given as objects (given.json), for load to check
        # (hashing the tensors only where there is a directory to keep it in)
        kept = config.data.name == GIVEN and self.run_dir is not None
        self.given_data = describe_data(data, self.data) if kept else None
        RECIPES[config.recipe].check_data(self.data.spec, config.data.name, config.recipe)
        with torch.random.fork_rng(devices=[]):  # seed the initialization, leave the caller's RNG
            with given_parts(parts or {}):
                # Sizes against memory before anything big exists: the networks' state on a
                # meta-device build here, a training step when fit() is first called (a run
                # loaded to sample on a smaller machine need not fit its training step there).
                memory.check_weights(config, self.data.spec, RECIPES[config.recipe])
                torch.manual_seed(config.train.seed)
                self.recipe = RECIPES[config.recipe](config, self.data.spec)
        # What this run measures and draws, and where its latents come from: sample(),
        # evaluate() and the snapshots all follow this one plan.
        self.plan = plan_for(self.recipe, self.data)
        if config.data.features:  # the run's own feature space instead of the data's default
            self.plan = _own_feature_space(self.plan, config, reloaded)
        # Snapshots (metrics and pictures every plot_every steps and at the end of each fit) are
        # what a person looks at; a caller that measures on its own can leave them out.
        hooks = self.plan.hooks(config.data.n_eval, config.train.device) if snapshots else []
        # an image run without a feature space: its snapshots draw pictures but measure nothing
        self._unmeasured = (snapshots and self.plan.kind == "images"
                            and not self.plan.default_features)
        self.trainer = Trainer(self.recipe, self.data, config, self.run_dir, hooks, progress)
        self._plan_hooks = list(hooks)  # what the plan knows it measures holds while these run
        # the last fit's final metrics with their settings (eval.json's record), if measured
        self.result: dict[str, Any] | None = None
        self._step_fits = False  # memory.check_step has passed (once per run)
        # the checkpoint restored (gankit.training.choice), recorded in what is written from it
        self.checkpoint: Chosen | None = None
        self._continues: Chosen | None = None  # checked and carried by the next fit()

    @property
    def step(self) -> int:
        return self.trainer.step

    @property
    def generator(self) -> nn.Module:
        """The network that :meth:`sample` runs: the weight average G_ema when the run keeps
        one (``train.g_ema`` > 0), else G; the live module, z [N, latent_dim] -> x [N, ...]."""
        return generator_of(self.recipe, ema="G_ema" in self.recipe.nets)

    def fit(self, steps: int | None = None, on_extend: str | None = None
            ) -> list[dict[str, float]]:
        """Train to ``steps`` generator steps (default ``train.steps``); returns logged records.

        Training past ``train.steps`` raises ``train.steps`` to the new target, and the
        learning-rate schedule stretches over the whole run or keeps its length and trains on
        at its final rate: ``on_extend`` "stretch" or "final_lr" (default: ``train.on_extend``,
        which this sets); ``config.yaml`` records both.
        """
        if on_extend is not None:
            if on_extend not in EXTEND_CHOICES:  # before any work
                raise ConfigError(f"on_extend must be one of {', '.join(EXTEND_CHOICES)}, "
                                  f"got {on_extend!r}")
            self.config.train.on_extend = on_extend
        if not self._step_fits:
            memory.check_step(self.config, self.data.spec, self.recipe)
            self._step_fits = True
            if self._unmeasured:
                warnings.warn(f"data {self.config.data.name} has no feature space: snapshots "
                              f"measure no image metrics (FID, KID, precision/recall); fit one "
                              f"with 'gankit features fit' and set data.features=FILE",
                              stacklevel=2)
        if self._plan_hooks and self.trainer.hooks == self._plan_hooks:  # before any work
            check_measured(self.config.train.keep_best, self.plan.measures)
        if (chosen := self._continues) is not None:  # before anything is written
            check_continuation(chosen, self.run_dir)
            if self.run_dir is not None and self.trainer.is_main:
                carry(chosen.run_dir, self.run_dir, chosen.step, self.config.train.keep_best)
            if self.run_dir is not None and not resumes_in_place(chosen.run_dir, self.run_dir):
                self.trainer.resumed_from = chosen.record()  # in its checkpoints' state.json
            self._continues = None
        total = self.trainer.step_target(steps)
        if self.run_dir is not None and self.trainer.is_main:
            text = dump_yaml(self.config.to_dict())
            with replace_atomically(self.run_dir / "config.yaml") as tmp:  # creates run_dir
                tmp.write_text(text)
            if self.given_data is not None:
                write_json(self.run_dir / GIVEN_FILE, {"data": self.given_data})
        history = self.trainer.fit(total)
        final = self.trainer.last_eval
        if final.get("step") == self.step:  # the last snapshot measured the finished run
            # the order of eval_record's: step, checkpoint, the settings, the metrics
            self.result = {"step": final["step"], **self._checkpoint_field(), **final}
            if self.run_dir is not None:
                self.save_evaluation(self.result)
        return history

    def eval_record(self, n: int | None = None, seed: int = EVAL_SEED,
                   features: str | FeatureExtractor | None = None,
                   weights: str | None = None,
                   sampler: SamplerSettings | None = None) -> dict[str, Any]:
        """:meth:`evaluate`'s metrics with what they were measured at: ``step``, ``n``,
        ``features``, ``seed`` first (the record of eval.json and of ``gankit train``), the
        ``checkpoint`` folder of that step (relative to its run) right after ``step``, and
        the sampler when it is not the prior, with the chains' mean acceptance (MALA) and
        mean energy at their start and end. Image data adds ``n_real``, the real images the
        ``n`` generated ones were compared with (fewer than n for a smaller set: a warning)."""
        n = self.config.data.n_eval if n is None else n
        features = self.plan.features(features, weights, self.trainer.device)
        source = self.sampler(sampler)
        measured = self._measurement(n, seed, features,
                                     None if source is self.plan.latents else source)
        metrics, n_real = measured.metrics, measured.n_real
        if n_real is not None and n_real < n:
            warnings.warn(f"the data holds {n_real} real images, fewer than n = {n}: the metrics "
                          f"compare {n} generated images with {n_real} real ones (n_real in the "
                          f"record)", stacklevel=2)
        record = {"step": self.step, **self._checkpoint_field(),
                  **eval_settings(n, feature_name(features), seed, n_real)}
        if (name := (sampler or SamplerSettings()).describe()) is not None:
            record["sampler"] = name
            record |= trace_figures(getattr(source, "last_trace", None))
        return record | metrics

    def sampler(self, settings: SamplerSettings | None = None) -> LatentSource:
        """The latent source of ``settings`` (default: the prior): the truncation trick, or
        Langevin or MALA chains on the recipe's latent energy
        (:func:`gankit.sampling.settings.sampler_source`)."""
        if settings is None or settings.name == "prior":
            return self.plan.latents
        return sampler_source(self.recipe, settings)

    def save_evaluation(self, record: dict[str, Any]) -> Path:
        """Write ``record`` (from :meth:`eval_record`) to the run directory: ``eval.json`` for
        the run's own settings (``data.n_eval``, the data's default features, the fixed seed),
        ``eval-FEATURES-nN-seedS[-SAMPLER].json`` beside it for any other, so that one with
        other settings never overwrites it. An older checkpoint's (one the run has newer
        checkpoints than, ``--checkpoint STEP``) goes to ``eval-step-NNNNNNN[-...].json``, so
        that evaluations of several checkpoints are all kept, side by side, for picking the
        best. A record of a later step than ``record``'s is replaced with a warning; one of an
        earlier step is the run's progress and is updated quietly."""
        if self.run_dir is None:
            raise GankitError("this run has no run directory to write its evaluation to")
        settings = {k: record.get(k) for k in ("n", "features", "seed", "sampler")}
        own = {**eval_settings(self.config.data.n_eval, self.plan.default_features, EVAL_SEED),
               "sampler": None}
        step = record.get("step")
        older = isinstance(step, int) and bool(newer_steps(self.run_dir, step))
        name = [f"step-{step:07d}"] if older else []
        if settings != own:
            name += [f"{settings['features'] or 'none'}", f"n{settings['n']}",
                     f"seed{settings['seed']}", *([settings["sampler"]] if settings["sampler"]
                                                  else [])]
        path = self.run_dir / ("-".join(["eval", *name]) + ".json")
        previous = read_json_or_none(path)
        old_step, new_step = (previous or {}).get("step"), record.get("step")
        if isinstance(old_step, int) and isinstance(new_step, int) and old_step > new_step:
            warnings.warn(f"replaced {path} of step {old_step} with step {new_step}",
                          stacklevel=2)
        write_json(path, record)
        return path

    def sample(self, n: int, seed: int = 0, latents: LatentSource | None = None,
               labels: int | Sequence[int] | Tensor | None = None,
               codes: Mapping[str, float | Sequence[float] | Tensor] | None = None) -> Tensor:
        """``n`` generated points [n, ...] on the CPU, reproducible for a given seed, at
        latents drawn from ``latents`` (default: the run's own source, the prior).

        ``labels``: the class of every sample (one int) or of each ([n]), for a
        class-conditional recipe (cgan, acgan, projection, caae); ``codes``: values of
        InfoGAN's codes by name (``{"cat0": 3, "cont0": 1.5}``), one or one per sample. The
        noise a seed gives is the same whatever the codes, so two calls that differ only in
        the class draw the same styles."""
        if self.recipe.translates:
            raise GankitError(f"recipe {self.config.recipe} translates images and has no prior "
                              f"to sample from; use run.translate(images) (gankit translate "
                              f"RUN --input FILE|DIR --out DIR)")
        if n < 1:
            raise GankitError(f"number of samples must be >= 1, got {n}")
        fixed = self.fixed_codes(labels, codes)
        # z is the layout's full width: noise, then a class one-hot or InfoGAN's codes
        layout = self.recipe.layout
        width = layout.width if layout is not None else self.config.model.latent_dim
        memory.check_samples(n, width, self.data.spec.shape, self.trainer.device)
        generator = torch.Generator(self.trainer.device).manual_seed(seed)
        source = self.plan.latents if latents is None else latents
        z = source.draw(n, generator)
        return generate(self.recipe, self.recipe.layout.fix(z, fixed) if fixed else z)

    def translate(self, images: Tensor, direction: str = "AtoB") -> Tensor:
        """Translations [N, C', S, S] (CPU, float in [-1, 1]) of images [N, C, S, S]: uint8
        0..255 or float in [-1, 1], of the side and channels the run was trained on;
        ``direction`` "BtoA" for a two-way recipe (cyclegan). The networks run in eval mode
        (batch norm's running statistics, no dropout), so each output depends on its own input
        only and is the same every time."""
        from gankit.data.images import to_unit_range
        from gankit.evaluation.image_to_image import translate_images

        if not self.recipe.translates:
            raise GankitError(f"recipe {self.config.recipe} generates from noise and translates "
                              f"nothing; use run.sample(n) (gankit sample)")
        self.recipe.translator(direction)  # a direction the recipe lacks: one line first
        spec = self.data.spec
        expected = spec.shape if direction == "AtoB" else spec.shape_b
        if not isinstance(images, Tensor) or images.dim() != 4 or \
                tuple(images.shape[1:]) != tuple(expected):
            shape = list(images.shape) if isinstance(images, Tensor) else type(images).__name__
            raise GankitError(f"{direction} translates images [N, {', '.join(map(str, expected))}]"
                              f", got {shape}")
        if len(images) == 0:
            raise GankitError("no images to translate: the batch is empty")
        if images.dtype == torch.uint8:
            images = to_unit_range(images)
        elif not images.is_floating_point() or not torch.isfinite(images).all() or \
                images.min() < -1 or images.max() > 1:
            raise GankitError(f"images must be uint8 or finite floats in [-1, 1], got "
                              f"{images.dtype} in [{images.min():.3g}, {images.max():.3g}]")
        return translate_images(self.recipe, images, direction)

    def fixed_codes(self, labels: Any = None, codes: Mapping[str, Any] | None = None
                    ) -> dict[str, Tensor]:
        """The code values :meth:`sample` fixes, as tensors, refused in one line where the
        run's generator has no such code or the code no such value (a class beyond the run's,
        or beyond int64), before anything is drawn."""
        layout, name = self.recipe.layout, self.config.recipe
        fixed = dict(codes or {})
        if labels is not None:
            if layout is None or CLASS not in layout.slices():
                others = ("; its codes are " + ", ".join(c.name for c in layout.codes)
                          + " (codes=..., --code NAME=VALUE)") if layout and layout.codes else ""
                raise GankitError(f"labels (--class) need a class-conditional run (recipe cgan, "
                                  f"acgan, projection or caae); recipe {name} has no class"
                                  f"{others}")
            fixed[CLASS] = labels
        if fixed and (layout is None or not layout.codes):
            raise GankitError(f"recipe {name} is unconditional: its generator takes no codes, "
                              f"so there is no {', '.join(map(str, fixed))} to set")
        return layout.checked(fixed) if fixed else {}

    def evaluate(self, n: int | None = None, seed: int = EVAL_SEED,
                 features: str | FeatureExtractor | None = None,
                 weights: str | None = None,
                 latents: LatentSource | None = None) -> dict[str, float]:
        """The data's metrics on ``n`` samples (default ``data.n_eval``: 2,500 as in PacGAN),
        generated at latents from ``latents`` (default: the run's own source, the prior).

        Toy data: mode metrics and exact W1. Images: FID, KID, precision/recall and
        density/coverage in the space of ``features`` (a :class:`FeatureExtractor`, or
        ``"digits"`` / ``"inception"`` with its ``weights`` file, or a feature file from
        ``gankit features fit``; default: ``data.features``, else the digit classifier on
        digit data), classifier scores, StackedMNIST modes and the memorization
        check (:func:`gankit.evaluation.images.image_metrics`); images without a feature
        space (a folder of one's own, no ``features``) raise a :class:`GankitError` saying
        what to give. A recipe without an unconditional generator measures nothing: {}.
        """
        features = self.plan.features(features, weights, self.trainer.device)
        return self._measurement(n, seed, features, latents).metrics

    def _measurement(self, n: int | None, seed: int, features: FeatureExtractor | None,
                     latents: LatentSource | None) -> Measurement:
        """:meth:`evaluate`'s metrics with the counts they were measured on."""
        n = self.config.data.n_eval if n is None else n
        check_n_eval(n, "number of evaluation samples")
        device = self.trainer.device
        plan = self.plan if latents is None else plan_for(self.recipe, self.data, latents)
        return plan.measurement(n, seed, features, device)

    def restore(self, checkpoint: str | int | Path | None = None) -> Run:
        """Load a checkpoint to continue or to use: a checkpoint folder of this run (a Path, or
        text that is not a choice), or a choice in the run directory
        (:func:`gankit.training.choice.choose`, as :func:`load`):
        None or ``"latest"`` the newest intact one (newer damaged or incomplete ones are
        skipped with a warning), ``"best"`` the first of ``best.json``, or a step number."""
        if self.run_dir is None and folder_given(checkpoint) is None:
            raise CheckpointError("this run has no run directory to restore a checkpoint from")
        chosen = choose(self.run_dir or checkpoint, checkpoint)
        return self.restore_chosen(chosen)

    def restore_chosen(self, chosen: Chosen) -> Run:
        """Load the checkpoint ``chosen`` names (:func:`gankit.training.choice.choose`), and
        keep it as :attr:`checkpoint`; the next :meth:`fit` refuses to train on in place from
        a chosen checkpoint older than the run's newest."""
        if chosen.checkpoint is None:
            path = self.trainer.restore_latest(chosen.run_dir)
        else:
            path = chosen.checkpoint
            self.trainer.restore(path)
        self.checkpoint = self._continues = replace(chosen, checkpoint=path, step=self.step)
        return self

    def _checkpoint_field(self) -> dict[str, str]:
        """``{"checkpoint": "checkpoints/step-0001200"}``, an eval record's field beside
        ``step``: the checkpoint the run was restored from while it is still at that step, or
        the one it saved of its current step; else nothing (a run without a directory)."""
        chosen = self.checkpoint
        if chosen is not None and chosen.step == self.step:
            return {"checkpoint": chosen.relative()}
        if self.run_dir is not None and self.trainer.saved_step == self.step:
            folder = checkpoint_dir(self.run_dir, self.step)
            if folder.is_dir():
                return {"checkpoint": folder.relative_to(self.run_dir).as_posix()}
        return {}


def _own_feature_space(plan: EvaluationPlan, config: Config, reloaded: bool) -> EvaluationPlan:
    """``plan`` measuring in ``data.features``, resolved now, so that a new run whose file does
    not fit its data is refused before any work. A run loaded again whose feature file has
    gone (moved, deleted, another working folder) still samples, exports, translates and
    trains, with one warning: the file is needed only to measure."""
    value = config.data.features
    if reloaded and is_feature_file(value) and not Path(value).expanduser().is_file():
        warnings.warn(f"data.features {value}: no such file; this run samples, exports and "
                      f"trains as before but measures nothing until the file is back (or give "
                      f"--features FILE, or --set data.features=FILE)", stacklevel=3)
        return plan
    return plan.measured_in(value, config.train.device)


def build(config: Config | dict[str, Any] | str | Path, overrides: list[str] | None = None,
          run_dir: str | Path | None = None, progress: bool = True,
          snapshots: bool = True, generator: nn.Module | None = None,
          discriminator: nn.Module | None = None, data: object | None = None) -> Run:
    """A :class:`Run` from a Config, a plain dict, a YAML path or a shipped config name;
    ``config`` itself is never changed (the run trains on its own copy). A name or path is
    recorded in each checkpoint's ``state.json`` (``config_name``, carried on by a resume) and
    names the run's config in :func:`gankit.list_runs`.

    ``generator`` / ``discriminator`` are your own ``nn.Module``s (G: z [N, latent_dim] -> x; D:
    x -> a :class:`~gankit.models.DOutput` or one logit per example) and ``data`` your own
    examples (a Tensor, a TensorDataset or an (examples, labels) pair); the config records them
    as ``given`` (and ``given.json`` what the data was), and :func:`load` takes the same objects
    again. To let ``gankit sample / eval / train --resume`` rebuild such a run, name factories
    by import string instead (``model.generator: "mypkg.nets:make_g"``).
    """
    # the shipped name or YAML path, kept in each checkpoint for gankit runs (config.yaml
    # holds the resolved config, which names no source)
    name = str(config) if isinstance(config, (str, Path)) else None
    given = {"generator": generator, "discriminator": discriminator}
    marks = [f"model.{part}={GIVEN}" for part, module in given.items() if module is not None]
    marks += [f"data.name={GIVEN}"] if data is not None else []
    overrides = [*(overrides or []), *marks]
    if isinstance(config, Config):
        # a copy: the run sets train.device and a longer fit raises train.steps, which must
        # not leak into the caller's object (and into the next run built from it)
        config = build_config(config.to_dict(), overrides) if overrides else deepcopy(config)
    elif isinstance(config, dict):
        config = build_config(config, overrides)
    else:
        config = load_config(config, overrides)
    parts = {part: module for part, module in given.items() if module is not None}
    run = Run(config, run_dir, progress, snapshots, parts, data)
    run.trainer.config_name = name
    return run


def load(run_dir: str | Path, overrides: list[str] | None = None, progress: bool = True,
         out: str | Path | None = None, generator: nn.Module | None = None,
         discriminator: nn.Module | None = None, data: object | None = None,
         checkpoint: str | int | None = None) -> Run:
    """Rebuild a run from its directory (its ``config.yaml``) at a checkpoint: by default its
    newest intact one; ``checkpoint`` ``"latest"``, ``"best"`` (``train.keep_best``'s list) or
    a step number chooses another, and ``run_dir`` may be a checkpoint folder
    (``runs/x/checkpoints/step-0000500``) itself (:mod:`gankit.training.choice`). The choice
    is :attr:`Run.checkpoint`. Training on in place from a chosen checkpoint older than the
    run's newest is refused at ``fit()``: continue it elsewhere with ``out``.

    ``out``: another directory that the run continues in (``gankit train --resume RUN --out
    OTHER``): its config, checkpoints, logs and evaluation go there, and ``run_dir`` is only
    read. ``out`` must not hold a run already (:func:`check_new_run_dir`); naming ``run_dir``
    itself, in any spelling, is a plain resume.

    ``generator``, ``discriminator``, ``data``: the objects a run built by :func:`build` from
    your own modules and data was given (a run directory cannot hold them), passed again. The
    modules must have the checkpoint's tensors, name by name and shape by shape; the data the
    fields, shapes and classes recorded in ``given.json``; other examples of those shapes are
    taken with a warning (the continued run is then not the one that was interrupted).

    ``run_dir`` ``"pretrained:NAME"`` is a generator shipped with gankit
    (:mod:`gankit.pretrained`): a run without a directory, so it takes none of ``out``,
    ``checkpoint`` and the given objects.
    """
    if (name := pretrained.name_of(run_dir)) is not None:
        given = {"out": out, "checkpoint": checkpoint, "generator": generator,
                 "discriminator": discriminator, "data": data}
        if unused := [arg for arg, value in given.items() if value is not None]:
            raise GankitError(f"{run_dir} is a shipped generator alone (no run directory, "
                              f"checkpoints or D); leave out {', '.join(unused)}")
        return pretrained.load(name, overrides, progress)
    if not (run_of(run_dir) / "config.yaml").is_file():
        raise GankitError(f"not a gankit run directory (no config.yaml): {run_dir}")
    chosen = choose(run_dir, checkpoint)  # a step the run has not kept: one line, now
    run_dir = chosen.run_dir
    config = build_config(read_yaml(run_dir / "config.yaml"), overrides)
    given = {"generator": generator, "discriminator": discriminator, "data": data}
    _check_given(config, run_dir, given)
    parts = {part: module for part, module in given.items()
             if part != "data" and module is not None}
    in_place = resumes_in_place(run_dir, out)
    if in_place:  # a --set train.keep_best that would start a new list: refused now
        check_same_list(run_dir, config.train.keep_best)
    else:
        out = Path(out)
        if out.resolve().is_relative_to(run_dir.resolve()):
            raise GankitError(f"{out} is inside the run {run_dir} it would continue; "
                              f"give a directory outside it")
        check_new_run_dir(out)
    run = Run(config, run_dir if in_place else out, progress, parts=parts, data=data,
              reloaded=True)
    recorded = read_json_or_none(run_dir / GIVEN_FILE)
    if run.given_data is not None and isinstance(recorded, dict) \
            and isinstance(recorded.get("data"), dict):  # else no record to check against
        check_same_data(recorded["data"], run.given_data, run_dir)
    # the modules' tensors are checked against the checkpoint's (check_same_networks)
    return run.restore_chosen(chosen)


# what load's arguments stand for in a config that records them as given
GIVEN_KEYS = {"generator": "model.generator", "discriminator": "model.discriminator",
              "data": "data.name"}


def _check_given(config: Config, run_dir: Path, given: dict[str, object | None]) -> None:
    """The objects ``load`` got are those the run was built from, as ``config`` records them:
    a missing one, or one the run does not take, is one line naming the argument."""
    names = {"generator": config.model.generator, "discriminator": config.model.discriminator,
             "data": config.data.name}
    used = [arg for arg, name in names.items() if name == GIVEN]
    if missing := [arg for arg in used if given[arg] is None]:
        call = ", ".join(f"{arg}=..." for arg in used)
        raise GankitError(
            f"run {run_dir} was built from Python objects ({', '.join(used)}) and must be "
            f"loaded with gankit.load({str(run_dir)!r}, {call}) given the same objects "
            f"(missing: {', '.join(f'{arg}=' for arg in missing)}), or built from factories "
            f"by import string ({GIVEN_KEYS[missing[0]]}: 'package.module:factory')")
    for arg, value in given.items():
        if value is not None and arg not in used:
            raise GankitError(f"run {run_dir} builds its {arg} from {GIVEN_KEYS[arg]} "
                              f"{names[arg] or config.model.name!r}, not from an object given "
                              f"to gankit.build; leave out {arg}=")


def resumes_in_place(run_dir: str | Path, out: str | Path | None) -> bool:
    """Whether continuing ``run_dir`` in ``out`` is continuing it where it is: no ``out``, or
    one that names the same directory."""
    return out is None or Path(out).resolve() == Path(run_dir).resolve()


def check_new_run_dir(out: Path) -> None:
    """Refuse, in one line, a directory that a new or continued run cannot write: a file, or
    one that holds a run's checkpoints already (which its own resume would mix with ours)."""
    if out.exists() and not out.is_dir():
        raise GankitError(f"{out} is a file; a run directory must be a directory")
    if checkpoint_dirs(out):
        raise GankitError(f"{out} already holds a run; continue it with "
                          f"'gankit train --resume {out}' or choose another --out")
