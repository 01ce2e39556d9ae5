"""The one training loop: it alone calls ``backward()`` and ``optimizer.step()``.

Generic over recipes (:mod:`gankit.recipes.base`): each training step runs the recipe's phases
in order, each ``repeats`` times (k discriminator steps per generator step, Goodfellow et al.
2014, Alg. 1), with one optimizer and learning rate per phase (TTUR, Heusel et al. 2017).
Under torchrun, gradients are averaged over processes before each step
(gankit.training.distributed).

Determinism: every random draw of the loop comes from ``train.seed``. The recipe's own draws
(data, latents, penalty interpolation) come from one ``torch.Generator``; whatever draws from
torch's global RNG inside the networks (dropout) draws from a global state that the trainer
seeds from ``train.seed`` and owns while it trains (:class:`gankit.training.run_state.GlobalRng`;
the snapshot hooks draw from neither). A data set streamed from disk reads its images in an
order seeded by ``train.seed`` (:mod:`gankit.data.streaming`). Both streams, and the streamed
set's position, are checkpointed with the weights and optimizer moments
(:mod:`gankit.training.resume`), so a resumed run continues bit-exactly on CPU, with any number
of processes.

Faults: SIGINT/SIGTERM checkpoint the last finished step (:mod:`gankit.training.interrupts`); a
non-finite loss stops the run, or with ``train.on_nonfinite: rollback`` restores the last good
state with lower learning rates (:func:`gankit.training.resume.roll_back`).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch
from torch import Tensor
from tqdm.auto import tqdm

from gankit.configuration.schema import Config
from gankit.configuration.yaml_io import dump_yaml
from gankit.errors import GankitError, NonFiniteLossError, TrainingInterrupted
from gankit.recipes.base import Phase, Recipe, StepContext
from gankit.training import best, distributed, interrupts, optimization, resume, run_state
from gankit.training.checkpoint import clean_checkpoints, latest_checkpoint
from gankit.training.hardware import (
    agreed_precision,
    announce_precision,
    choose_precision,
    training_device,
)
from gankit.training.optimization import (
    beta2,
    build_optimizers,
    extend_schedule,
    lr_factor,
    parameters,
)
from gankit.training.run_state import cuda_indices
from gankit.training.runlog import RunLogger

Hook = Callable[["Trainer"], None]


class Trainer:
    """Runs a recipe on a data source; optionally writes a run directory.

    Args:
        recipe: networks + loss terms (built with the same ``config``).
        data: a source with ``sample(n, generator, device)``, or one read from disk as
            training goes with ``stream(batch_size, seed, rank, world_size, device)``.
        config: the resolved run configuration.
        run_dir: where metrics, TensorBoard events, checkpoints and plots go (None: nowhere).
        hooks: called every ``train.plot_every`` steps (a count or a fraction of the run) and at
            the end (plots, periodic metrics).
        progress: show a progress bar with step, losses and it/s.
    """

    def __init__(self, recipe: Recipe, data: Any, config: Config, run_dir: Path | None = None,
                 hooks: Sequence[Hook] = (), progress: bool = True) -> None:
        self.config = config
        if config.train.threads:  # process-wide: torch has one intra-op thread pool
            torch.set_num_threads(config.train.threads)
        self.device = training_device(config.train.device)
        self.rank, self.world_size = distributed.world()
        distributed.check_batch(config.data.batch_size, self.world_size, *recipe.batch_multiple)
        self.recipe = recipe.to(self.device)
        if self.world_size > 1:
            for name in list(recipe.nets):
                recipe.nets[name] = distributed.sync_batchnorm(recipe.nets[name], self.device)
            distributed.broadcast_state(recipe)
        if config.train.channels_last:  # 4-D weights only; linear layers are unaffected
            self.recipe.to(memory_format=torch.channels_last)
        # train.precision "auto" follows the hardware; the choice is announced by fit()
        self.precision = agreed_precision(choose_precision(config.train.precision, self.device),
                                          self.world_size, self.device)
        self.autocast_dtype = self.precision.autocast_dtype
        self.data = data
        self.run_dir = Path(run_dir) if run_dir is not None else None
        self.hooks = list(hooks)
        self.progress = progress
        self.is_main = self.rank == 0
        self.specs = recipe.optimizers()
        self.optimizers = build_optimizers(self.specs, self.recipe.nets, config)
        # One stream on every process: each draws the global batch and keeps its shard, so a
        # step does the same on any number of processes (gankit.training.distributed).
        self.rng = torch.Generator(self.device).manual_seed(config.train.seed)
        # A source read from disk as training goes (gankit.data.streaming) reads this
        # process's rows of each global batch in a seeded order; its position is checkpointed.
        open_stream = getattr(data, "stream", None)
        self.stream = (open_stream(config.data.batch_size, config.train.seed, self.rank,
                                   self.world_size, self.device) if open_stream else None)
        self.ctx = StepContext(data, config.data.batch_size, self.device, self.rng,
                               config.train.channels_last, self.rank, self.world_size,
                               stream=self.stream)
        self.global_rng = run_state.GlobalRng(config.train.seed, self.device)  # dropout's
        self.step = 0
        self.elapsed = 0.0  # training seconds, summed over resumes
        self.lr_scale = 1.0  # lowered by each rollback (train.on_nonfinite: rollback)
        self.rollbacks = 0
        self.rollback_target: run_state.State | None = None  # on_nonfinite: rollback
        self.saved_step = 0  # the step of the newest checkpoint written or restored
        self.config_name: str | None = None  # the shipped name or YAML path built from
        self._in_step = False  # a step (or its checkpoint) is half done: nothing to save
        self.history: list[dict[str, float]] = []
        self.logger: RunLogger | None = None
        self._announced = False
        self.precision_note: str | None = None  # a precision the hardware forced on a resume
        self.schedule_note: str | None = None  # a resume's stretched schedule (extend_schedule)
        # {run, checkpoint, step} a run continued in another directory came from (state.json)
        self.resumed_from: dict[str, Any] | None = None
        self.term_names: set[str] = set()  # loss terms the recipe has returned (TensorBoard)
        self.last_lr: dict[str, float] = {}  # optimizer -> learning rate of its latest step
        self.last_eval: dict[str, Any] = {}  # the latest metrics a hook reported, with settings
        self.last_curve: dict[str, Any] = {}  # the same as the curves log them (log_eval)
        self.at_final_step = False  # True while the hooks of fit()'s last step run

    # ----------------------------------------------------------------------------- training
    def step_target(self, steps: int | None) -> int:
        """The step to train to; a target past ``train.steps`` becomes the new ``train.steps``,
        and the learning-rate schedule stretches or stays (``train.on_extend``); what that or
        the restore before changed is said here, once, where training goes on."""
        total = self.config.train.steps if steps is None else steps
        if total > self.config.train.steps:
            self.schedule_note = extend_schedule(self.config.train, self.step,
                                                 self.config.train.steps, total)
        if self.schedule_note is not None:
            if self.is_main:
                optimization.log.info(self.schedule_note)
            self.schedule_note = None
        return total

    def fit(self, steps: int | None = None) -> list[dict[str, float]]:
        """Train until ``self.step == steps`` (default ``train.steps``); returns logged records."""
        total = self.step_target(steps)
        if self.run_dir is not None and self.is_main:
            clean_checkpoints(self.run_dir)  # what a killed save or prune left behind
            self.logger = RunLogger(self.run_dir)
            self._announce()
        if self.precision_note is not None:  # said once, where training goes on
            warnings.warn(self.precision_note, stacklevel=3)
            self.precision_note = None
        previous_handlers = interrupts.install()
        # tqdm's own rate would count the snapshots and the final evaluation as training
        # time: the bar shows the trainer's steps_per_s (_log_window) in its place
        bar = tqdm(total=total, initial=self.step, unit="step", dynamic_ncols=True,
                   bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} [{elapsed}<{remaining}{postfix}]",
                   disable=not (self.progress and self.is_main))
        try:
            with self.global_rng.owned():
                self._train_to(total, bar)
            if self.logger is not None and self.last_eval.get("step") == self.step:
                self.logger.hparams(self.config.to_dict(), self.last_eval)
        except TrainingInterrupted:
            raise
        except interrupts.Interrupted as stop:
            raise self._stopped_by(stop.signum) from None
        finally:
            for net in self.recipe.nets.values():
                net.requires_grad_(True)
            if self.stream is not None:  # its workers rest until the next fit
                self.stream.close()
            bar.close()
            interrupts.restore(previous_handlers)
            if self.logger is not None:
                self.logger.close()
                self.logger = None
        return self.history

    def _train_to(self, total: int, bar: tqdm) -> None:
        """The loop of :meth:`fit`. A signal during a step or its checkpoint waits for both to
        finish (:func:`gankit.training.interrupts.deferred`); one during the hooks stops at once,
        since
        the step is then complete."""
        sums: dict[str, Tensor] = {}
        counts: dict[str, int] = {}
        clock = time.perf_counter()
        window_elapsed, window_steps = self.elapsed, 0  # the log window, in training seconds
        train = self.config.train
        if train.on_nonfinite == "rollback" and self.rollback_target is None:
            self.rollback_target = run_state.copy_state(self.state())
        while self.step < total:
            rolled_back = False
            self._in_step = True
            with interrupts.deferred():
                try:
                    self._one_step(sums, counts)
                    now = time.perf_counter()
                    self.elapsed += now - clock
                    clock = now
                    window_steps += 1
                    bar.update(1)
                    if self.step % train.every("log_every") == 0 or self.step == total:
                        self._log_window(sums, counts, window_steps,
                                         self.elapsed - window_elapsed, bar)
                        sums.clear(), counts.clear()
                        window_elapsed, window_steps = self.elapsed, 0
                    if self.step % train.every("checkpoint_every") == 0 or self.step == total:
                        self.save()
                except NonFiniteLossError as err:
                    resume.roll_back(self, err)  # or raise it again (on_nonfinite: stop, or spent)
                    sums.clear(), counts.clear()
                    window_elapsed, window_steps = self.elapsed, 0
                    bar.n = self.step
                    bar.refresh()
                    rolled_back = True
            self._in_step = False
            interrupts.raise_pending()
            if not rolled_back and (self.step % train.every("plot_every") == 0
                                    or self.step == total):
                self._run_hooks(final=self.step == total)
            clock = time.perf_counter()  # hooks, saves and rollbacks are not training time

    def _one_step(self, sums: dict[str, Tensor], counts: dict[str, int],
                  phase: str | None = None) -> None:
        """One training step: every phase of the recipe, each its ``repeats`` times; or, with
        ``phase``, one repeat of that phase alone (the browser view's "one D step"). The step
        counter counts generator steps, so a lone phase advances it only when it is the
        step's last phase, the generator's."""
        phases = self.recipe.phases()
        if phase is not None:
            names = [p.name for p in phases]
            if phase not in names:
                raise GankitError(f"recipe {type(self.recipe).__name__} has no phase "
                                  f"{phase!r}; its phases are {', '.join(names)}")
            phases = [replace(phases[names.index(phase)], repeats=1)]
        step_losses: list[tuple[str, dict[str, Tensor]]] = []
        ctx = self.ctx.next_step(self.step)  # handed from phase to phase; a lone phase's is empty
        for each in phases:
            for _ in range(each.repeats):
                step_losses.append((each.name, self._run_phase(each, ctx, sums, counts)))
        self._check_finite(step_losses)
        if phase is None or phase == self.recipe.phases()[-1].name:
            self.step += 1

    def train_steps(self, n: int = 1, phase: str | None = None) -> dict[str, float]:
        """Train ``n`` steps (or ``n`` repeats of one ``phase``) outside :meth:`fit`, for a
        caller that does its own work between steps (:mod:`gankit.view`); returns the means
        of the loss terms and statistics over them (one host sync).

        The steps are :meth:`fit`'s own, drawing from the same streams, so 10 calls of one
        step train what ``fit`` does in 10; without fit's run directory, hooks, signal handling
        or learning-rate rollback: a non-finite loss raises :class:`NonFiniteLossError`."""
        sums: dict[str, Tensor] = {}
        counts: dict[str, int] = {}
        start = time.perf_counter()
        with self.global_rng.owned():
            try:
                for _ in range(n):
                    self._one_step(sums, counts, phase)
            finally:
                for net in self.recipe.nets.values():
                    net.requires_grad_(True)
                self.elapsed += time.perf_counter() - start
        if not sums:
            return {}
        means = torch.stack([sums[k] / counts[k] for k in sums]).tolist()
        return dict(zip(sums, means, strict=True))

    def _log_window(self, sums: dict[str, Tensor], counts: dict[str, int], steps: int,
                    seconds: float, bar: tqdm) -> None:
        """Log the means of the terms since the last record, and show the headline ones with
        the rate over the window's training ``seconds`` (no snapshots, saves or rollbacks)."""
        means = distributed.average({k: sums[k] / counts[k] for k in sums}, self.world_size)
        # one device-to-host copy for all figures (one sync on CUDA)
        record = dict(zip(means, torch.stack(list(means.values())).tolist(), strict=True))
        record["steps_per_s"] = steps / max(seconds, 1e-9)
        record |= {f"lr/{name}": lr for name, lr in self.last_lr.items()}
        if self.config.train.beta2_final is not None:  # scheduled: worth a curve
            record["beta2"] = beta2(self.step - 1, self.config.train)
        self.log(record)
        bar.set_postfix_str(", ".join([f"{record['steps_per_s']:.3g} step/s"] + [
            f"{k}={record[k]:.3g}" for k in self._headline(record)]))

    def _stopped_by(self, signum: int) -> TrainingInterrupted:
        """What a signal leaves: the current step checkpointed if it is finished and not yet
        saved (not when a second signal cut a step or its save short), else the newest one."""
        if not self._in_step and self.step != self.saved_step and self.run_dir is not None:
            return TrainingInterrupted(signum, self.step, self.save(), saved=True)
        newest = latest_checkpoint(self.run_dir) if self.run_dir is not None else None
        return TrainingInterrupted(signum, self.step, newest, saved=False)

    def _headline(self, record: dict[str, float]) -> list[str]:
        """The figures the progress bar shows: the recipe's headline ones, or all its terms."""
        names = self.recipe.headline or sorted(self.term_names)
        return [name for name in names if name in record]

    def _announce(self) -> None:
        """Say once per trainer, and record in the run directory, what precision runs and why."""
        if self._announced:
            return
        self._announced = True
        hardware = announce_precision(self.precision, self.device)
        for line in self.recipe.describe():  # what was built, e.g. a PatchGAN's receptive field
            sys.stderr.write(f"gankit: {line}\n")
        self.logger.write_json("hardware.json", hardware)
        self.logger.text("config", dump_yaml(self.config.to_dict()))

    def _run_phase(self, phase: Phase, ctx: StepContext, sums: dict[str, Tensor],
                   counts: dict[str, int]) -> dict[str, Tensor]:
        """One optimizer step of ``phase`` in the step of ``ctx``; returns its detached loss
        terms, which :meth:`_check_finite` inspects once per training step (one host sync, not
        one a phase)."""
        spec = self.specs[phase.optimizer]
        for name, net in self.recipe.nets.items():
            # Only the stepped networks need weight gradients; others still pass input gradients.
            net.requires_grad_(name in spec.networks or name in phase.records_graph_of)
        # bf16 autocast covers the forward passes; D's outputs and the losses are float32.
        with torch.autocast(self.device.type, dtype=self.autocast_dtype or torch.float32,
                            enabled=self.autocast_dtype is not None):
            out = self.recipe.run_phase(phase, ctx)
        loss = sum(out.terms.values())
        optimizer = self.optimizers[phase.optimizer]
        self.last_lr[phase.optimizer] = spec.lr * self.lr_factor() * self.lr_scale
        train = self.config.train
        for group in optimizer.param_groups:
            group["lr"] = self.last_lr[phase.optimizer]
            if "betas" in group and train.beta2_final is not None:  # Adam's, scheduled
                group["betas"] = (group["betas"][0], beta2(self.step, train))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        params = parameters(self.recipe.nets, spec.networks)
        if self.world_size > 1:
            distributed.average_gradients(params, self.world_size)
        optimizer.step()
        if spec.clip > 0:  # WGAN weight clipping to [-c, c] (Arjovsky et al. 2017, Alg. 1 l. 7)
            with torch.no_grad():
                for p in params:
                    p.clamp_(-spec.clip, spec.clip)
        self.recipe.after_step(phase, self.step)
        self.term_names.update(out.terms)
        for name, value in {**out.terms, **out.stats}.items():
            sums[name] = sums.get(name, 0) + value.detach()
            counts[name] = counts.get(name, 0) + 1
        return {name: value.detach() for name, value in out.terms.items()}

    def _check_finite(self, step_losses: list[tuple[str, dict[str, Tensor]]]) -> None:
        """Stop on a NaN or infinite loss anywhere in the step, naming the first phase that had
        one. A non-finite loss also poisons the weights it stepped, so the run cannot go on; the
        checkpoints on disk are untouched (:meth:`save` refuses non-finite weights)."""
        totals = torch.stack([sum(terms.values()) for _, terms in step_losses])
        if self.world_size > 1:  # all processes stop together (a lone one would hang the rest)
            totals = distributed.average({"loss": totals}, self.world_size)["loss"]
        if bool(torch.isfinite(totals).all()):  # the step's one host sync
            return
        bad = int((~torch.isfinite(totals)).nonzero()[0])
        name, terms = step_losses[bad]
        values = ", ".join(f"{k}={v.item():.4g}" for k, v in terms.items())
        raise NonFiniteLossError(
            f"non-finite loss in phase {name!r} at step {self.step + 1} ({values})",
            resume.last_good(self))

    def lr_factor(self) -> float:
        """Learning-rate multiplier of the current step
        (:func:`gankit.training.optimization.lr_factor`)."""
        return lr_factor(self.step, self.config.train)

    def log(self, record: dict[str, float]) -> None:
        """Append ``record`` to :attr:`history` and the run directory's logs."""
        self.history.append({"step": self.step, **record})
        if self.logger is not None:
            # TensorBoard groups: the recipe's loss terms under loss/, its other stats under
            # stats/, the trainer's own figures under train/ (names with a / keep theirs)
            tags = {name: f"{'loss' if name in self.term_names else 'stats'}/{name}"
                    for name in record if "/" not in name}
            tags["steps_per_s"] = "train/steps_per_s"
            self.logger.log(self.step, record, tags)

    def log_eval(self, record: dict[str, float], settings: dict[str, Any] | None = None,
                 curve: dict[str, float] | None = None, curve_logged: bool = False) -> None:
        """Hooks report periodic metrics here (``eval/`` in TensorBoard and metrics.jsonl).

        ``settings`` (n, features, seed) say how they were measured; the latest report is kept
        as :attr:`last_eval`, so that the end of a run need not evaluate a second time.
        ``curve``: the figures as every periodic snapshot measures them, where ``record`` was
        measured in full (the final snapshot's toy W1 over all points): the curves, and
        :attr:`last_curve` that ``train.keep_best`` ranks, then compare like with like.
        ``curve_logged``: this step's curve is logged already, and ``record`` completes the
        report (the full measurement's rest, computed while the snapshot's pictures were
        drawn: :attr:`gankit.evaluation.plan.Measurement.rest`).
        """
        curve = record if curve is None else curve
        if not curve_logged:
            self.log({f"eval/{k}": v for k, v in curve.items() if math.isfinite(v)})
        self.last_eval = {"step": self.step, **(settings or {}), **record}
        self.last_curve = {"step": self.step, **curve}

    def _run_hooks(self, final: bool = False) -> None:
        """Run the hooks; ``final`` (the last step of :meth:`fit`) tells them to measure in
        full, as ``gankit eval`` would, since their metrics are then the run's result. Then
        the step is ranked for ``train.keep_best`` (:mod:`gankit.training.best`)."""
        if not self.is_main or not self.hooks:
            return
        self.at_final_step = final
        self.recipe.eval()  # snapshots must not touch batch-norm statistics
        try:  # nor the run's random streams: a resumed run must not see a snapshot's draws
            with torch.random.fork_rng(devices=cuda_indices(self.device)):
                for hook in self.hooks:
                    hook(self)
        finally:
            self.recipe.train()
            self.at_final_step = False
        # outside fork_rng: a checkpoint of a best step must hold the run's own random streams
        best.after_snapshot(self)

    # --------------------------------------------------------------------- checkpoints
    def state(self) -> run_state.State:
        """Everything needed to continue (:func:`gankit.training.resume.state`)."""
        return resume.state(self)

    def save(self) -> Path | None:
        """Checkpoint the current step (:func:`gankit.training.resume.save`)."""
        return resume.save(self)

    def restore(self, path: Path) -> None:
        """Load a checkpoint into this trainer (:func:`gankit.training.resume.restore`)."""
        resume.restore(self, path)

    def restore_latest(self, run_dir: Path | None = None) -> Path:
        """Restore the newest intact checkpoint of ``run_dir`` (default: this trainer's own run
        directory; another one for a run continued elsewhere); newer damaged or incomplete ones
        are skipped with one warning, and none intact is one error line."""
        run_dir = self.run_dir if run_dir is None else run_dir
        return run_state.restore_newest_intact(run_dir, self.restore)
