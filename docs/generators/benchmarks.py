"""Benchmark tables and hardware lines, rendered from ``benchmarks/results/*.json``.

A page asks for a table by name and the table's declaration here says which JSON file, which
records (rows) and which fields (columns) it shows, so every figure on the site is read from
the file its benchmark wrote and none is typed by hand:

    <!-- generated: benchmark-table toy-modes -->
    <!-- generated: benchmark-hardware toy_samplers.json -->

The hardware line lists the distinct ``hardware`` records of a file (see
``gankit.training.hardware.describe``), so a reader sees which machine measured what.
Numbers are formatted by the column's style (see ``number``); a field that a record lacks
renders as an empty cell, never as a figure from elsewhere.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"

Record = dict[str, Any]
Field = str | Callable[[Record], Any]  # a key of the record (dots go deeper), or a function of it
Label = str | tuple[str, ...]  # one cell, or several (the table's first columns)
Rows = Sequence[tuple[Label, str | tuple[str, ...]]] | Callable[[Any], list[tuple[Label, Record]]]


class Column(NamedTuple):
    heading: str
    field: Field
    style: str = ""  # a format spec (".1f", ",.0f"), "%" for a fraction in percent, "x" a ratio


class Table(NamedTuple):
    """Rows of one results file: (label, key path of the record) pairs, or a function of the data."""

    file: str
    first: Label  # the heading(s) of the label column(s)
    columns: tuple[Column, ...]
    rows: Rows


def number(value: Any, style: str) -> str:
    """One cell: the same style gives the same look in every table; missing gives ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return "" if style else value  # a text where a figure belongs (a mislabelled field) is no figure
    if style == "%":
        return f"{100 * value:.1f}%"
    if style == "x":
        return f"{value:.2f}x"
    return format(value, style)


def load(file: str) -> Any:
    return json.loads((RESULTS / file).read_text())


def dig(record: Any, path: str | Sequence[str]) -> Any:
    """RECORD[a][b]... for the path "a.b" or ("a", "b"); None where a key is missing."""
    for key in (path.split(".") if isinstance(path, str) else path):
        if not isinstance(record, dict) or key not in record:
            return None
        record = record[key]
    return record


def cell(record: Record, column: Column) -> str:
    field = column.field
    return number(field(record) if callable(field) else dig(record, field), column.style)


def cells(label: Label) -> list[str]:
    return [label] if isinstance(label, str) else list(label)


def markdown_table(first: Label, columns: Sequence[Column], rows: list[tuple[Label, Record]]) -> str:
    headings = cells(first) + [column.heading for column in columns]
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    for label, record in rows:
        lines.append("| " + " | ".join(cells(label) + [cell(record, c) for c in columns]) + " |")
    return "\n".join(lines)


def render_table(arguments: str) -> str:
    if arguments not in TABLES:
        raise SystemExit(f"unknown benchmark table {arguments!r} (known: {', '.join(sorted(TABLES))})")
    table = TABLES[arguments]
    data = load(table.file)
    if callable(table.rows):
        rows = table.rows(data)
    else:
        rows = []
        for label, path in table.rows:
            record = dig(data, (path,) if isinstance(path, str) else path)
            if record is None:
                raise SystemExit(f"{table.file} has no record {path!r} (table {arguments})")
            rows.append((label, record))
    return markdown_table(table.first, table.columns, rows)


def hardware_records(data: Any, where: str = "") -> list[tuple[str, Record]]:
    """Every ``hardware`` record in DATA with the key path of the entry that holds it."""
    if not isinstance(data, dict):
        return []
    found = [(where, data["hardware"])] if isinstance(data.get("hardware"), dict) else []
    for key, value in data.items():
        if key != "hardware":
            found += hardware_records(value, f"{where}, {key}" if where else key)
    return found


def describe(hardware: Record) -> str:
    threads = hardware.get("threads")
    parts = [hardware.get("cpu", "an unnamed CPU"), f"torch {hardware.get('torch', '?')}",
             f"CPU capability {hardware.get('cpu_capability', '?')}",
             "native bf16 (oneDNN)" if hardware.get("onednn_bf16") else "no native bf16",
             f"{threads} torch thread{'s' if threads != 1 else ''}"]
    if hardware.get("onednn_max_cpu_isa"):
        parts.append(f"ONEDNN_MAX_CPU_ISA={hardware['onednn_max_cpu_isa']}")
    return ", ".join(parts)


def render_hardware(arguments: str) -> str:
    """One line per distinct machine of the file, with how many of its entries it measured."""
    records = hardware_records(load(arguments))
    if not records:
        return f"`{arguments}` records no hardware (it predates the hardware record)."
    machines: dict[str, int] = {}
    for _, hardware in records:
        machines[describe(hardware)] = machines.get(describe(hardware), 0) + 1
    lines = [f"Hardware recorded in `{arguments}`:", ""]
    for machine, count in machines.items():
        lines.append(f"- {machine}" + (f" ({count} entries)" if len(records) > 1 else ""))
    return "\n".join(lines)


# --- row and field helpers shared by several tables -------------------------------------------

def minutes(field: str) -> Callable[[Record], float | None]:
    return lambda record: None if record.get(field) is None else record[field] / 60


def over_seeds(field: str, style: str) -> Callable[[Record], str]:
    """Mean ± standard deviation over a record of seeds {"0": {...}, ...}; a missing value is named."""
    def summary(row: Record) -> str:
        seeds = row["seeds"]
        missing = [seed for seed, run in seeds.items() if run.get(field) is None]
        if missing:
            return f"none on seed {', '.join(missing)}"
        values = [run[field] for run in seeds.values()]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{format(statistics.mean(values), style)} ± {format(spread, style)}"
    return summary


def mean_over_seeds(field: str) -> Callable[[Record], float]:
    return lambda row: statistics.mean(run[field] for run in row["seeds"].values())


def toy_rows(data: Any) -> list[tuple[Label, Record]]:
    """toy_modes.json: one row per data set and loss, its seeds summarized, modes against NS-GAN."""
    modes = mean_over_seeds("modes")
    rows = []
    for name, seeds in sorted(data["runs"].items(), key=lambda item: item[0].startswith("grid")):
        dataset, loss = name.split("-", 1)
        baseline = {"seeds": data["runs"][f"{dataset}-non-saturating"]}
        rows.append(((dataset, loss), {"seeds": seeds, "vs": modes({"seeds": seeds}) / modes(baseline)}))
    return rows


SAMPLERS = {"prior": "prior", "truncation-t1": "truncation at 1", "mala-k1000-e0.01-T1": "MALA"}


def sampler_rows(data: Any) -> list[tuple[Label, Record]]:
    """toy_samplers.json: seed 0 of each toy model, measured with each way of drawing z."""
    return [((*name.split("-", 1), SAMPLERS[sampler]), measured)
            for name, seeds in data["runs"].items()
            for sampler, measured in seeds["0"]["samplers"].items()]


def entries(path: str, label: str) -> Callable[[Any], list[tuple[Label, Record]]]:
    """Every record of the list at PATH, labelled by its field LABEL."""
    return lambda data: [(str(record[label]), record) for record in dig(data, path)]


def eval_parts(data: Any) -> list[tuple[Label, Record]]:
    """eval_profile.json: one row per part of an evaluation, one column per measurement."""
    rows = [(part, {run: dig(data, (run, "median_seconds", "wall", part)) for run in data})
            for part in data["after"]["median_seconds"]["wall"]]
    return rows + [("load average (1 min)", {run: data[run]["load_average"][0] for run in data})]


def profile_shares(data: Any) -> list[tuple[Label, Record]]:
    """dcgan_throughput.json: the share of a step's CPU time by kind of operation, per variant."""
    kinds = next(iter(data["profile"].values()))["shares"]
    return [(kind, {variant: profile["shares"][kind] for variant, profile in data["profile"].items()})
            for kind in kinds]


PROFILED = ("plain PyTorch, fp32, G(z) twice, DataLoader (baseline)", "gankit, fp32, one G(z)",
            "gankit, bf16, one G(z)")


def step_figures(data: Any) -> list[tuple[Label, Record]]:
    """dcgan_throughput.json: the profiled variants' work and rate, one row per figure."""
    results = {row["variant"]: row for row in data["results"]}
    figures = (("GFLOP a step", "gflop_per_step", ".2f"), ("GFLOP per CPU s", "gflop_per_cpu_s", ".0f"),
               ("the step's fraction of the peak", "of_peak", "%"),
               ("convolutions' and matmuls' own GFLOP per CPU s", "conv_matmul_gflop_s", ".0f"),
               ("their fraction of the peak", "conv_matmul_of_peak", "%"),
               ("speed against the plain loop, by CPU seconds", "cpu_ratio", "x"))
    return [(label, {variant: number(dig(results[variant], field) or dig(data["profile"][variant], field),
                                     style) for variant in PROFILED})
            for label, field, style in figures]


def r3gan_cost(data: Any) -> list[tuple[Label, Record]]:
    """r3gan_nets.json: fp32 rows, a network's plain step beside its step with R1 + R2."""
    fp32 = [row for row in data["rows"] if row["precision"] == "fp32"]
    penalized = {(r["model"], r["g_hidden"], r["blocks_per_stage"], r["channels_per_group"]): r
                 for r in fp32 if r["step"] == "rpgan_step"}
    rows = []
    for row in (r for r in fp32 if r["step"] == "fwd_bwd"):
        key = (row["model"], row["g_hidden"], row["blocks_per_stage"], row["channels_per_group"])
        label = tuple(str(part) for part in key)
        rows.append((label, {**row, "penalized": dig(penalized.get(key), "seconds")}))
    return rows


def with_references(entry: str, references: dict[str, dict[str, str]]):
    """The file's entries as given, then rows of reference figures that ENTRY records (real data)."""
    def rows(data: Any) -> list[tuple[Label, Record]]:
        return [(label, {column: data[entry][field] for column, field in fields.items()})
                for label, fields in references.items()]
    return rows


def table(file: str, first: Label, columns: Sequence[Column], rows: Rows,
          extra: Callable[[Any], list[tuple[Label, Record]]] | None = None) -> Table:
    if extra is None:
        return Table(file, first, tuple(columns), rows)
    def both(data: Any) -> list[tuple[Label, Record]]:
        return [(label, data[key]) for label, key in rows] + extra(data)
    return Table(file, first, tuple(columns), both)


C = Column
STEPS, FID, KID = C("steps", "steps", ",d"), C("FID", "fid", ".1f"), C("KID", "kid", ".0f")
PRECISION, RECALL = C("precision", "precision", ".2f"), C("recall", "recall", ".2f")
DENSITY, COVERAGE = C("density", "density", ".2f"), C("coverage", "coverage", ".2f")
STACKED = (C("steps", "step", ",d"), C("training s", "training_seconds", ",.0f"),
           C("modes", "stacked_modes", ",d"), C("KL", "stacked_reverse_kl", ".3f"),
           C("channel KL", "stacked_channel_kl", ".3f"), C("unsure", "unsure", "%"), FID, PRECISION,
           RECALL)
WALL = C("wall min", minutes("wall_seconds"), ".1f")

# The tables the pages ask for, by name. Labels say what an entry is; the entry's key in its
# JSON file is the key written next to it.
TABLES: dict[str, Table] = {
    "toy-modes": table("toy_modes.json", ("data", "loss"), [
        C("modes", over_seeds("modes", ".1f")), C("high-quality %", over_seeds("high_quality", ".1f")),
        C("reverse KL", over_seeds("reverse_kl", ".3f")), C("W1", mean_over_seeds("w1"), ".3f"),
        C("wall s", mean_over_seeds("seconds"), ".0f"), C("CPU s", mean_over_seeds("cpu_seconds"), ".0f"),
        C("modes vs non-saturating", "vs", "x")], toy_rows),
    "toy-samplers": table("toy_samplers.json", ("data", "model", "draw of z"), [
        C("modes", "modes", "d"), C("high-quality %", "high_quality", ".1f"),
        C("reverse KL", "reverse_kl", ".3f"), C("W1", "w1", ".3f"),
        C("MALA acceptance", "mcmc_acceptance", ".2f")], sampler_rows),
    "dcgan-throughput": table("dcgan_throughput.json", "variant", [
        C("precision", "precision"), C("images/s", "images_per_s", ",.0f"),
        C("vs baseline (CPU s)", "cpu_ratio", "x"), C("GFLOP a step", "gflop_per_step", ".2f"),
        C("GFLOP per CPU s", "gflop_per_cpu_s", ".0f"), C("of peak", "of_peak", "%")],
        entries("results", "variant")),
    "dcgan-throughput-avx2": table("dcgan_throughput_avx2.json", "variant", [
        C("precision", "precision"), C("images/s", "images_per_s", ",.0f"),
        C("vs baseline (CPU s)", "cpu_ratio", "x"), C("GFLOP a step", "gflop_per_step", ".2f"),
        C("GFLOP per CPU s", "gflop_per_cpu_s", ".0f"), C("of peak", "of_peak", "%")],
        entries("results", "variant")),
    "dcgan-peaks": table("dcgan_throughput.json", "dtype", [
        C("matmul, GFLOP per CPU s", "matmul", ".0f"), C("convolution", "conv", ".0f")],
        [("fp32", ("peak_gflop_s", "fp32")), ("bf16", ("peak_gflop_s", "bf16"))]),
    "dcgan-profile": table("dcgan_throughput.json", "share of a step's CPU time", [
        C(variant, variant, "%") for variant in PROFILED], profile_shares),
    "dcgan-step": table("dcgan_throughput.json", "figure", [
        C(variant, variant) for variant in PROFILED], step_figures),
    "eval-profile": table("eval_profile.json", "part (wall s, median of 3 rounds)", [
        C("before", "before_rerun", ".2f"), C("after", "after_rerun", ".2f"),
        C("after, quiet cores", "after", ".2f"), C("before, first run", "before", ".2f")],
        eval_parts),
    "image-quality-mnist5k": table("image_quality.json", "entry (config)", [
        C("budget s", "budget_seconds", ".0f"), STEPS, FID, KID, PRECISION, RECALL, DENSITY, COVERAGE,
        C("classifier score", "classifier_score", ".2f"), C("label KL", "label_kl", ".3f")], [
        ("`non-saturating` (`mnist5k`)", "non-saturating"),
        ("`hinge+sn` (`mnist5k-hinge-sn`)", "hinge+sn"), ("`lsgan` (`mnist5k-lsgan`)", "lsgan"),
        ("`wgan-gp` (`mnist5k-wgan-gp`, n_critic 5)", "wgan-gp"),
        ("`wgan-gp ttur` (n_critic 1, lr_d 3e-4, lr_g 1e-4, Adam β1 0)", "wgan-gp ttur"),
        ("`wgan-gp 2x budget` (the same, 600 s)", "wgan-gp 2x budget"),
        ("`began` (`mnist5k-began`, the preset)", "began"),
        ("`r3gan, DCGAN nets` (lazy R1 + R2)", "r3gan, DCGAN nets"),
        ("`non-saturating, beside r3gan` (same load)", "non-saturating, beside r3gan"),
        ("`r3gan, R3GAN nets` (width 12)", "r3gan, R3GAN nets")]),
    "image-quality-budget": table("image_quality.json", "entry (config, settings)", [
        C("budget s", "budget_seconds", ".0f"), STEPS, FID, KID, PRECISION, RECALL, COVERAGE,
        C("label KL", "label_kl", ".3f")], [
        ("non-saturating (`mnist5k`), the reference", "non-saturating"),
        ("`wgan-gp` (`mnist5k-wgan-gp`, the paper's n_critic 5)", "wgan-gp"),
        ("`wgan-gp ttur` (n_critic 1, lr_d 3e-4, lr_g 1e-4, beta1 0)", "wgan-gp ttur"),
        ("`wgan-gp 2x budget`, with TTUR", "wgan-gp 2x budget"),
        ("`began` (`mnist5k-began`), the preset now", "began")]),
    "image-quality-stacked": table("image_quality.json", "entry (`stacked-mnist` with)", [
        STEPS, C("modes", "stacked_modes", ",d"), C("KL", "stacked_reverse_kl", ".3f"), FID,
        PRECISION, RECALL], [
        ("`stacked: dcgan` (`model.minibatch_discrimination=0`)", "stacked: dcgan"),
        ("`stacked: + minibatch stddev`", "stacked: + minibatch stddev"),
        ("`stacked: + minibatch discrimination (shipped)`",
         "stacked: + minibatch discrimination (shipped)")]),
    "stacked-meg": table("stacked_mnist_meg.json", "entry (`stacked-mnist-meg` with)", STACKED, [
        (f"shipped: λ 30, Adam 2e-4{', continued' if steps > 4000 else ''}",
         f"shipped: λ 30, Adam 2e-4, {steps} steps") for steps in (4000, 8000, 12000, 16000, 20000)
    ] + [(f"{label}", f"{label}, 4000 steps") for label in (
        "λ 1, Adam 1e-4", "paper settings: λ 10, Adam 1e-4", "paper settings, g_ema 0.999",
        "λ 30, Adam 1e-4", "λ 100, Adam 1e-4", "shipped, G 128 wide")] + [
        ("paper settings, one run", "paper settings: λ 10, Adam 1e-4, 7000 steps (2026-12-01)"),
        ("the same, continued",
         "paper settings: λ 10, Adam 1e-4, continued to 10000 steps (2026-12-01)"),
        ("the same, continued", "paper settings: λ 10, Adam 1e-4, continued to 12682 steps (2026-12-02)"),
        ("the same, rates decayed linearly to 0 over steps 12,800-16,000",
         "paper settings: λ 10, Adam 1e-4, continued to 16000 steps with the rates decayed to 0 "
         "(2026-12-02)"),
        ("paper settings, the reference code's MNIST setting (`train.n_critic=1`, "
         "`model.latent_dim=128`)", "paper settings with the reference code's 1 energy step and "
         "latent 128, 8825 steps (2026-12-01)")]),
    "stacked-r3gan": table("stacked_mnist_r3gan.json", "entry (`stacked-mnist-r3gan` with)", STACKED, [
        *((f"first settings: no norm in D, R1 + R2 every step, no ramp-up",
           f"first: D without norm, R1 + R2 every step, {steps} steps") for steps in (3000, 6000, 9000, 12000)),
        *(("shipped settings over a 12,000-step schedule", f"12,000-step schedule, {steps} steps")
          for steps in (4000, 8000, 12000)),
        *(("**shipped** (25,000-step schedule)", f"shipped, {steps} steps") for steps in (10000, 20000, 25000))]),
    "r3gan-cost": table("r3gan_nets.json", ("model", "`g_hidden` = `d_hidden`", "`blocks_per_stage`",
                                            "`channels_per_group`"), [
        C("parameters (G + D)", "parameters", ",d"), C("forward + backward s", "seconds", ".3f"),
        C("with R1 + R2 s", "penalized", ".3f"),
        C("steps in 80 min, with R1 + R2", lambda row: row["penalized"] and 4800 / row["penalized"],
          ",.0f")], r3gan_cost),
    "conditional": table("conditional.json", "entry", [
        C("networks", lambda r: "dcgan-fc" if "model.name=dcgan-fc" in r["overrides"] else "dcgan"),
        STEPS, WALL, C("class accuracy", "class_accuracy", "%"), C("intra-FID", "intra_fid", ".1f"),
        C("FID at class size", "fid_class_size", ".1f"),
        C("intra / that", lambda r: r.get("fid_class_size") and r["intra_fid"] / r["fid_class_size"],
          ".2f"), FID, C("recall", "recall", ".3f")], [
        ("**cgan**", "cgan, dcgan networks"),
        ("**acgan** (preset: ADC head, λ 2, hinge, SN)", "acgan, dcgan networks"),
        ("**projection** (preset: hinge, SN, `g_ema` 0.999)", "projection, dcgan networks"),
        ("acgan, ADC head, λ 1, hinge, SN", "acgan, class_weight 1, dcgan networks"),
        ("acgan, ADC head, λ 1, hinge, SN, `g_ema` 0.999", "acgan, class_weight 1, g_ema, dcgan networks"),
        ("acgan, the paper's head (`ac`), batch-norm D, λ 1", "acgan, ac, batch-norm D, dcgan networks"),
        ("acgan, real-only head (`real`), batch-norm D, λ 1", "acgan, real, batch-norm D, dcgan networks"),
        ("acgan, `real`, batch-norm D, λ 1, `g_ema` 0.999",
         "acgan, real, batch-norm D, g_ema, dcgan networks"),
        ("acgan, TAC-GAN's twin (`tac`), batch-norm D, λ 1", "acgan, tac, batch-norm D, dcgan networks"),
        ("acgan, `adc`, batch-norm D, λ 1", "acgan, adc, batch-norm D, dcgan networks"),
        ("acgan, `adc`, batch-norm D, λ 2", "acgan, adc, batch-norm D, class_weight 2, dcgan networks"),
        ("acgan, `adc`, batch-norm D, λ 4", "acgan, adc, batch-norm D, class_weight 4, dcgan networks"),
        ("acgan, `adc`, batch-norm D, λ 1, `g_ema` 0.999",
         "acgan, adc, batch-norm D, g_ema, dcgan networks"),
        ("projection without `g_ema`", "projection, no g_ema, dcgan networks"),
        ("cgan", "cgan"), ("acgan, `ac`, batch-norm D, λ 1", "acgan, ac, batch-norm D"),
        ("projection without `g_ema`", "projection, no g_ema")]),
    "infogan": table("conditional.json", ("InfoGAN", "seed"), [
        STEPS, WALL, C("unsupervised accuracy (Q on held-out digits)", "unsupervised_accuracy", "%"),
        C("cat0 accuracy (generated)", "cat0_accuracy", "%"), FID, C("recall", "recall", ".3f")], [
        *((("with `invariance_weight: 1`", str(seed)), f"infogan, invariance, seed {seed}") for seed in range(3)),
        *((("the paper's objective", str(seed)), f"infogan seed {seed}") for seed in range(3))]),
    "caae": table("conditional.json", "setting", [
        STEPS, WALL, C("re-conditioned class accuracy", "recondition_accuracy", "%"),
        C("reconstruction L1", "reconstruction_l1", ".3f"), C("style ratio", "style_ratio", ".2f"), FID], [
        ("**preset** (`z_weight` 0.05)", "caae"), ("`z_weight` 0.1", "caae, z_weight 0.1"),
        ("`z_weight` 0.01 (the paper's)", "caae, z_weight 0.01"),
        ("`z_weight` 0.01, `recondition_weight` 0.2", "caae, z_weight 0.01, recondition_weight 0.2")]),
    "pix2pix": table("translation.json", ("entry", "D"), [
        WALL, C("label preservation", "label_preservation", "%"), C("FID-digits", "fid", ".2f"),
        C("SSIM", "ssim", ".3f"), C("L1", "l1", ".4f"), C("PSNR (dB)", "psnr", ".1f")], [
        (("L1 alone (`pix2pix.gan_weight=0`)", "none"), "L1"),
        (("cGAN alone (`pix2pix.pixel_weight=0`)", "16x16"), "cGAN"),
        (("**L1 + cGAN** (shipped)", "16x16"), "L1+cGAN"),
        (("L1 + cGAN (`model.d_depth=0`)", "1x1 PixelGAN"), "L1+cGAN, PixelGAN 1x1"),
        (("L1 + cGAN (`model.d_depth=2`)", "34x34, the whole image"), "L1+cGAN, D sees 34x34 (whole image)")],
        with_references("L1+cGAN", {
            ("real held-out digits", ""): {"label_preservation": "label_accuracy_real"},
            ("the input edges themselves", ""): {"fid": "fid_input"}})),
    "cyclegan": table("translation.json", "entry", [
        WALL, C("label preservation A→B", "label_preservation", "%"),
        C("B→A", "label_preservation_ba", "%"), C("FID-digits A→B", "fid", ".2f"), C("B→A", "fid_ba", ".2f"),
        C("SSIM A→B", "ssim", ".3f"), C("B→A", "ssim_ba", ".3f"), C("cycle error a", "cycle_l1_a", ".3f"),
        C("b", "cycle_l1_b", ".3f")], [
        ("cyclegan (shipped: identity 0.5)", "cyclegan"),
        ("`cyclegan.identity_weight=0`", "cyclegan, no identity loss")],
        with_references("cyclegan", {
            "real digits of the output's domain": {"label_preservation": "label_accuracy_real",
                                                   "label_preservation_ba": "label_accuracy_real_ba"},
            "the inputs themselves": {"fid": "fid_input", "fid_ba": "fid_input_ba"}})),
}

RENDERERS = {"benchmark-table": render_table, "benchmark-hardware": render_hardware}
