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
Rows = list[tuple[Label, Record]]
EntryPath = str | tuple[str, ...]  # the key of an entry in its file, or the keys down to it


class Column(NamedTuple):
    heading: str
    field: Field
    style: str = ""  # a format spec (".1f", ",.0f"), "%" for a fraction in percent, "x" a ratio


class Table(NamedTuple):
    """Rows of one results file: the entries named, then the rows a function makes of the data."""

    file: str
    first: Label  # the heading(s) of the label column(s)
    columns: tuple[Column, ...]
    entries: tuple[tuple[Label, EntryPath], ...] = ()
    more: Callable[[Any], Rows] | None = None


def number(value: Any, style: str) -> str:
    """One cell: the same style gives the same look in every table; missing gives ''."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, str):
        return "" if style else value  # a text where a figure belongs is no figure
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


def markdown_table(first: Label, columns: Sequence[Column], rows: Rows) -> str:
    headings = cells(first) + [column.heading for column in columns]
    lines = ["| " + " | ".join(headings) + " |", "|" + "---|" * len(headings)]
    for label, record in rows:
        lines.append("| " + " | ".join(cells(label) + [cell(record, c) for c in columns]) + " |")
    return "\n".join(lines)


def render_table(arguments: str) -> str:
    """The table named ARGUMENTS in TABLES; an entry missing from its file is an error."""
    if arguments not in TABLES:
        known = ", ".join(sorted(TABLES))
        raise SystemExit(f"unknown benchmark table {arguments!r} (known: {known})")
    table = TABLES[arguments]
    data = load(table.file)
    rows = []
    for label, path in table.entries:
        record = dig(data, (path,) if isinstance(path, str) else path)
        if record is None:
            raise SystemExit(f"{table.file} has no entry {path!r} (table {arguments})")
        rows.append((label, record))
    if table.more is not None:
        rows += table.more(data)
    return markdown_table(table.first, table.columns, rows)


def hardware_records(data: Any) -> list[Record]:
    """Every ``hardware`` record in DATA, at any depth (one per entry, or one for the file)."""
    if not isinstance(data, dict):
        return []
    found = [data["hardware"]] if isinstance(data.get("hardware"), dict) else []
    for key, value in data.items():
        if key != "hardware":
            found += hardware_records(value)
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
    for hardware in records:
        machines[describe(hardware)] = machines.get(describe(hardware), 0) + 1
    lines = [f"Hardware recorded in `{arguments}`:", ""]
    for machine, count in machines.items():
        lines.append(f"- {machine}" + (f" ({count} entries)" if len(records) > 1 else ""))
    return "\n".join(lines)


# --- rows that a results file's shape asks to compute ------------------------------------------

def minutes(field: str) -> Callable[[Record], float | None]:
    return lambda record: None if record.get(field) is None else record[field] / 60


def over_seeds(field: str, style: str) -> Callable[[Record], str]:
    """Mean ± sample standard deviation over a row's seeds; a seed without the figure is named."""
    def summary(row: Record) -> str:
        missing = [seed for seed, run in row["seeds"].items() if run.get(field) is None]
        if missing:
            return f"none on seed {', '.join(missing)}"
        values = [run[field] for run in row["seeds"].values()]
        spread = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{format(statistics.mean(values), style)} ± {format(spread, style)}"
    return summary


def mean_over_seeds(field: str) -> Callable[[Record], float]:
    return lambda row: statistics.mean(run[field] for run in row["seeds"].values())


def toy_rows(data: Any) -> Rows:
    """toy_modes.json: a row per data set and loss over its seeds, modes against NS-GAN's."""
    modes = mean_over_seeds("modes")
    rows = []
    for name, seeds in sorted(data["runs"].items(), key=lambda item: item[0].startswith("grid")):
        dataset, loss = name.split("-", 1)
        baseline = modes({"seeds": data["runs"][f"{dataset}-non-saturating"]})
        rows.append(((dataset, loss), {"seeds": seeds, "vs": modes({"seeds": seeds}) / baseline}))
    return rows


SAMPLERS = {"prior": "prior", "truncation-t1": "truncation at 1", "mala-k1000-e0.01-T1": "MALA"}


def sampler_rows(data: Any) -> Rows:
    """toy_samplers.json: seed 0 of each toy model, measured with each way of drawing z."""
    return [((*name.split("-", 1), SAMPLERS[sampler]), measured)
            for name, seeds in data["runs"].items()
            for sampler, measured in seeds["0"]["samplers"].items()]


def each(path: str, label: Callable[[Record], str]) -> Callable[[Any], Rows]:
    """Every record of the list at PATH, labelled by LABEL(record)."""
    return lambda data: [(label(record), record) for record in dig(data, path)]


def each_key(path: str) -> Callable[[Any], Rows]:
    """Every record of the dict at PATH, labelled by its key."""
    return lambda data: [(key, record) for key, record in dig(data, path).items()]


def eval_parts(data: Any) -> Rows:
    """eval_profile.json: a row per part of an evaluation, a column per measurement."""
    rows = [(part, {run: dig(data, (run, "median_seconds", "wall", part)) for run in data})
            for part in data["after"]["median_seconds"]["wall"]]
    return rows + [("load average (1 min)", {run: data[run]["load_average"][0] for run in data})]


PROFILED = ("plain PyTorch, fp32, G(z) twice, DataLoader (baseline)", "gankit, fp32, one G(z)",
            "gankit, bf16, one G(z)")


def profile_shares(data: Any) -> Rows:
    """dcgan_throughput.json: the share of a step's CPU time by kind of operation, per variant."""
    kinds = data["profile"][PROFILED[0]]["shares"]
    return [(kind, {variant: data["profile"][variant]["shares"][kind] for variant in PROFILED})
            for kind in kinds]


STEP_FIGURES = (("GFLOP a step", "gflop_per_step", ".2f"),
                ("GFLOP per CPU s", "gflop_per_cpu_s", ".0f"),
                ("the step's fraction of the peak", "of_peak", "%"),
                ("convolutions' and matmuls' own GFLOP per CPU s", "conv_matmul_gflop_s", ".0f"),
                ("their fraction of the peak", "conv_matmul_of_peak", "%"),
                ("speed against the plain loop, by CPU seconds", "cpu_ratio", "x"))


def step_figures(data: Any) -> Rows:
    """dcgan_throughput.json: the profiled variants' work and rate, a row per figure (formatted
    here, since each row has its own unit)."""
    measured = {row["variant"]: {**row, **data["profile"].get(row["variant"], {})}
                for row in data["results"]}
    return [(label, {variant: number(measured[variant][field], style) for variant in PROFILED})
            for label, field, style in STEP_FIGURES]


def r3gan_cost(data: Any) -> Rows:
    """r3gan_nets.json: the fp32 rows, each network's plain step beside its step with R1 + R2."""
    def shape(row: Record) -> tuple[str, ...]:
        return tuple(str(row[key]) for key in
                     ("model", "g_hidden", "blocks_per_stage", "channels_per_group"))
    fp32 = [row for row in data["rows"] if row["precision"] == "fp32"]
    penalized = {shape(row): row["seconds"] for row in fp32 if row["step"] == "rpgan_step"}
    return [(shape(row), {**row, "penalized": penalized.get(shape(row))})
            for row in fp32 if row["step"] == "fwd_bwd"]


def yardsticks(entry: str, rows: dict[Label, dict[str, str]]) -> Callable[[Any], Rows]:
    """Rows of reference figures (real data, the inputs) that ENTRY recorded beside its own:
    {label: {column's field: ENTRY's field}}."""
    return lambda data: [(label, {column: data[entry][field] for column, field in fields.items()})
                         for label, fields in rows.items()]


# StackedMNIST in the literature: 1,000 modes, KL(generated || uniform) over 26,000 samples,
# each with its own networks, classifier, full MNIST and GPU budget; quoted, not measured here.
STACKED_PUBLISHED = (
    ("DCGAN (PacGAN's paper, Lin et al. 2018, Table 2)", 99, 3.40),
    ("PacDCGAN2 (Lin et al. 2018, Table 2)", 1000, 0.06),
    ("WGAN-GP (as reported by Kumar et al. 2019)", 959, 0.7276),
    ("MEG (Kumar et al. 2019)", 1000, 0.0313),
    ("R3GAN (Huang et al. 2024; the KL could not be read here)", 1000, None),
)


def stacked_beside_published(data: Any) -> Rows:
    """After the rows measured here: MEG's best from stacked_mnist_meg.json, then the
    published figures (STACKED_PUBLISHED)."""
    meg = load("stacked_mnist_meg.json")["shipped: λ 30, Adam 2e-4, 20000 steps"]
    return [("gankit: `stacked-mnist-meg` (MEG), 20,000 steps", meg),
            *((label, {"stacked_modes": modes, "stacked_reverse_kl": kl, "published": True})
              for label, modes, kl in STACKED_PUBLISHED)]


def where_measured(record: Record) -> str:
    if record.get("published"):
        return "published"
    if "training_seconds" not in record:
        return "real data, this classifier"
    threads = dig(record, "hardware.threads")
    on = f" on {threads} CPU thread{'s' * (threads != 1)}" if threads else ""
    return f"here, {record['training_seconds'] / 60:.0f} min{on}"


def significant(value: float) -> str:
    """Three significant digits, without an exponent: 0.177, 21.8, 232, 2,340."""
    return f"{value:,.0f}" if abs(value) >= 1000 else f"{float(f'{value:.3g}'):g}"


SPACES = {"fitted": "fitted", "digits": "digit classifier"}


def disturbance_rows(data: Any) -> Rows:
    """feature_validation.json: FID at each level of each disturbance, a row per feature space."""
    return [((images, SPACES[space], kind),
             {"levels": ", ".join(f"{level:g}" for level in data["levels"][kind]),
              "fid": ", ".join(significant(fid) for fid in fids)})
            for images, spaces in data["disturbances"].items()
            for space, kinds in spaces.items() for kind, fids in kinds.items()]


def curve_rows(data: Any) -> Rows:
    """small_data.json: FID every few thousand steps of the longer runs, by subset and policy."""
    return [((f"{curve['digits']:,}", policy),
             {"fid": ", ".join(f"{fid:.1f} ({step:,})" for step, fid in points)})
            for curve in sorted(data["curves"].values(), key=lambda curve: curve["digits"])
            for policy, points in curve["fid"].items()]


def against(reference: str, entries: dict[str, str]) -> Callable[[Any], Rows]:
    """ENTRIES ({label: key}) with "vs", their FID over the REFERENCE entry's."""
    return lambda data: [(label, {**data[key], "vs": data[key]["fid"] / data[reference]["fid"]})
                         for label, key in entries.items()]


def streaming_rows(data: Any) -> Rows:
    """streaming.json: a row per source (folder_workers2 reads "folder, workers 2")."""
    fields = ("images_per_s", "ratio_to_trainer", "ratio_to_in_memory")
    return [(source.replace("_workers", ", workers ").replace("_", " "),
             {field: data[field][source] for field in fields}) for source in data[fields[0]]]


# --- the tables the pages ask for, by name ----------------------------------------------------
# A label says what an entry is; the key beside it is the entry's key in its file.

C = Column
STEPS, FID, KID = C("steps", "steps", ",d"), C("FID", "fid", ",.1f"), C("KID", "kid", ",.0f")
PRECISION, RECALL = C("precision", "precision", ".2f"), C("recall", "recall", ".2f")
DENSITY, COVERAGE = C("density", "density", ".2f"), C("coverage", "coverage", ".2f")
LABEL_KL, BUDGET = C("label KL", "label_kl", ".3f"), C("budget s", "budget_seconds", ".0f")
WALL = C("wall min", minutes("wall_seconds"), ".1f")
STACKED = (C("steps", "step", ",d"), C("training s", "training_seconds", ",.0f"),
           C("modes", "stacked_modes", ",d"), C("KL", "stacked_reverse_kl", ".4f"),
           C("channel KL", "stacked_channel_kl", ".4f"), C("unsure", "unsure", "%"), FID,
           PRECISION, RECALL)
THROUGHPUT = (C("precision", "precision"), C("images/s", "images_per_s", ",.0f"),
              C("vs baseline (CPU s)", "cpu_ratio", "x"),
              C("GFLOP a step", "gflop_per_step", ".2f"),
              C("GFLOP per CPU s", "gflop_per_cpu_s", ".0f"), C("of peak", "of_peak", "%"))
MEG_PAPER = "paper settings: λ 10, Adam 1e-4"
R3GAN_FIRST = "first: D without norm, R1 + R2 every step"
# issue 30: what moves StackedMNIST's KL, on the 12,000-step protocol: (label, entry)
R3GAN_PROBES = (("γ 0.05 -> 0.005 (shipped before)", "gamma 0.05 -> 0.005"),
                ("γ 0.05 -> 0.005, G 128 wide", "gamma 0.05 -> 0.005, G 128 wide"),
                ("γ 0.2 -> 0.02", "gamma 0.2 -> 0.02"), ("γ 0.8 -> 0.08", "gamma 0.8 -> 0.08"),
                ("γ 0.8 -> 0.08, seed 1", "gamma 0.8 -> 0.08, seed 1"),
                ("γ 2 -> 0.2", "gamma 2 -> 0.2"))


def networks(record: Record) -> str:
    return "dcgan-fc" if "model.name=dcgan-fc" in record["overrides"] else "dcgan"


def class_size_ratio(record: Record) -> float | None:
    return record.get("fid_class_size") and record["intra_fid"] / record["fid_class_size"]


def steps_in_80_minutes(row: Record) -> float | None:
    return row["penalized"] and 80 * 60 / row["penalized"]


TABLES: dict[str, Table] = {
    "toy-modes": Table("toy_modes.json", ("data", "loss"), (
        C("modes", over_seeds("modes", ".1f")),
        C("high-quality %", over_seeds("high_quality", ".1f")),
        C("reverse KL", over_seeds("reverse_kl", ".3f")), C("W1", mean_over_seeds("w1"), ".3f"),
        C("wall s", mean_over_seeds("seconds"), ".0f"),
        C("CPU s", mean_over_seeds("cpu_seconds"), ".0f"),
        C("modes vs non-saturating", "vs", "x")), more=toy_rows),
    "toy-samplers": Table("toy_samplers.json", ("data", "model", "draw of z"), (
        C("modes", "modes", "d"), C("high-quality %", "high_quality", ".1f"),
        C("reverse KL", "reverse_kl", ".3f"), C("W1", "w1", ".3f"),
        C("MALA acceptance", "mcmc_acceptance", ".2f")), more=sampler_rows),
    "dcgan-throughput": Table("dcgan_throughput.json", "variant", THROUGHPUT,
                              more=each("results", lambda row: row["variant"])),
    "dcgan-throughput-avx2": Table("dcgan_throughput_avx2.json", "variant", THROUGHPUT,
                                   more=each("results", lambda row: row["variant"])),
    "dcgan-peaks": Table("dcgan_throughput.json", "dtype", (
        C("matmul, GFLOP per CPU s", "matmul", ".0f"), C("convolution", "conv", ".0f")), (
        ("fp32", ("peak_gflop_s", "fp32")), ("bf16", ("peak_gflop_s", "bf16")))),
    "dcgan-profile": Table("dcgan_throughput.json", "share of a step's CPU time", tuple(
        C(variant, variant, "%") for variant in PROFILED), more=profile_shares),
    "dcgan-step": Table("dcgan_throughput.json", "figure", tuple(
        C(variant, variant) for variant in PROFILED), more=step_figures),
    "eval-profile": Table("eval_profile.json", "part (wall s, median of 3 rounds)", (
        C("before", "before_rerun", ".2f"), C("after", "after_rerun", ".2f"),
        C("after, quiet cores", "after", ".2f"), C("before, first run", "before", ".2f")),
        more=eval_parts),
    "image-quality-mnist5k": Table("image_quality.json", "entry (config)", (
        BUDGET, STEPS, FID, KID, PRECISION, RECALL, DENSITY, COVERAGE,
        C("classifier score", "classifier_score", ".2f"), LABEL_KL), (
        ("`non-saturating` (`mnist5k`)", "non-saturating"),
        ("`hinge+sn` (`mnist5k-hinge-sn`)", "hinge+sn"), ("`lsgan` (`mnist5k-lsgan`)", "lsgan"),
        ("`wgan-gp` (`mnist5k-wgan-gp`, n_critic 5)", "wgan-gp"),
        ("`wgan-gp ttur` (n_critic 1, lr_d 3e-4, lr_g 1e-4, Adam β1 0)", "wgan-gp ttur"),
        ("`wgan-gp 2x budget` (the same, 600 s)", "wgan-gp 2x budget"),
        ("`began` (`mnist5k-began`, the preset)", "began"),
        ("`r3gan, DCGAN nets` (lazy R1 + R2)", "r3gan, DCGAN nets"),
        ("`non-saturating, beside r3gan` (same load)", "non-saturating, beside r3gan"),
        ("`r3gan, R3GAN nets` (width 12)", "r3gan, R3GAN nets"))),
    "image-quality-budget": Table("image_quality.json", "entry (config, settings)", (
        BUDGET, STEPS, FID, KID, PRECISION, RECALL, COVERAGE, LABEL_KL), (
        ("non-saturating (`mnist5k`), the reference", "non-saturating"),
        ("`wgan-gp` (`mnist5k-wgan-gp`, the paper's n_critic 5)", "wgan-gp"),
        ("`wgan-gp ttur` (n_critic 1, lr_d 3e-4, lr_g 1e-4, beta1 0)", "wgan-gp ttur"),
        ("`wgan-gp 2x budget`, with TTUR", "wgan-gp 2x budget"),
        ("`began` (`mnist5k-began`), the preset now", "began"))),
    "image-quality-classes": Table("image_quality.json", "entry", (
        BUDGET, FID, C("FID vs non-saturating at 300 s", "vs", "x"),
        *(C(f"{digit}s", lambda row, digit=digit: row["class_percent"][digit], ".1f")
          for digit in range(10))), more=against("non-saturating", {
            "`wgan-gp ttur`": "wgan-gp ttur", "`began`": "began"})),
    "image-quality-stacked": Table("image_quality.json", "entry (`stacked-mnist` with)", (
        STEPS, C("modes", "stacked_modes", ",d"), C("KL", "stacked_reverse_kl", ".4f"), FID,
        PRECISION, RECALL), (
        ("`stacked: dcgan` (`model.minibatch_discrimination=0`)", "stacked: dcgan"),
        ("`stacked: + minibatch stddev`", "stacked: + minibatch stddev"),
        ("`stacked: + minibatch discrimination (shipped)`",
         "stacked: + minibatch discrimination (shipped)"))),
    "stacked-meg": Table("stacked_mnist_meg.json", "entry (`stacked-mnist-meg` with)", STACKED, (
        ("shipped: λ 30, Adam 2e-4", "shipped: λ 30, Adam 2e-4, 4000 steps"),
        *(("the same run, continued", f"shipped: λ 30, Adam 2e-4, {steps} steps")
          for steps in (8000, 12000, 16000, 20000)),
        *((label, f"{label}, 4000 steps") for label in (
            "λ 1, Adam 1e-4", MEG_PAPER, "paper settings, g_ema 0.999", "λ 30, Adam 1e-4",
            "λ 100, Adam 1e-4", "shipped, G 128 wide")),
        ("paper settings, one run", f"{MEG_PAPER}, 7000 steps (2026-12-01)"),
        ("the same run, continued", f"{MEG_PAPER}, continued to 10000 steps (2026-12-01)"),
        ("the same run, continued", f"{MEG_PAPER}, continued to 12682 steps (2026-12-02)"),
        ("the same, rates decayed linearly to 0 over steps 12,800-16,000",
         f"{MEG_PAPER}, continued to 16000 steps with the rates decayed to 0 (2026-12-02)"),
        ("paper settings with the reference code's MNIST setting (`train.n_critic=1`, "
         "`model.latent_dim=128`)", "paper settings with the reference code's 1 energy step "
         "and latent 128, 8825 steps (2026-12-01)"))),
    "stacked-r3gan": Table("stacked_mnist_r3gan.json", "entry (`stacked-mnist-r3gan` with)",
                           STACKED, (
        *(("first settings: γ 0.05 -> 0.005, no norm in D, R1 + R2 every step, no ramp-up",
           f"{R3GAN_FIRST}, {steps} steps") for steps in (3000, 6000, 9000, 12000)),
        *((f"12,000-step schedule, {label}", f"12,000-step schedule, {entry}, {steps} steps")
          for label, entry in R3GAN_PROBES
          for steps in ((4000, 8000, 12000) if entry == "gamma 0.05 -> 0.005" else (6000, 12000))),
        *(("25,000-step schedule, γ 0.05 -> 0.005 (shipped before)",
           f"25,000-step schedule, gamma 0.05 -> 0.005, {steps} steps")
          for steps in (10000, 20000, 25000)),
        ("25,000-step schedule, γ 0.05 -> 0.005 (shipped before), seed 1",
         "25,000-step schedule, gamma 0.05 -> 0.005, seed 1, 25000 steps"),
        *(("**shipped** (25,000-step schedule, γ 0.8 -> 0.08)",
           f"shipped settings, gamma 0.8 -> 0.08, {steps} steps") for steps in (12500, 25000)),
        *(("80,000-step schedule, γ 0.05 -> 0.005",
           f"80,000-step schedule, gamma 0.05 -> 0.005, {steps} steps")
          for steps in (20000, 40000, 60000, 80000)),
        *(("**80,000-step schedule** (the 2-hour budget), γ 0.8 -> 0.08",
           f"80,000-step schedule, gamma 0.8 -> 0.08, {steps} steps")
          for steps in (20000, 40000, 60000, 80000)),
        ("80,000-step schedule, γ 0.8 -> 0.08, DiffAugment translation",
         "80,000-step schedule, gamma 0.8 -> 0.08, translation, 20000 steps"))),
    "stacked-published": Table("stacked_mnist_r3gan.json", "method", (
        C("modes", "stacked_modes", ",d"), C("KL", "stacked_reverse_kl", ".4f"),
        C("measured", where_measured)), (
        ("real triples of training digits (the floor)", "real triples of training digits"),
        ("the same real triples blurred (Gaussian, σ 1 px; 25% unsure)",
         "real triples of training digits, blurred (Gaussian, sigma 1 px)"),
        ("gankit: **`stacked-mnist-r3gan`** (shipped, 25,000 steps)",
         "shipped settings, gamma 0.8 -> 0.08, 25000 steps"),
        ("gankit: `stacked-mnist-r3gan --set train.steps=80000` (the 2-hour budget)",
         "80,000-step schedule, gamma 0.8 -> 0.08, 80000 steps"),
        ("gankit: the same run at 60,000 steps",
         "80,000-step schedule, gamma 0.8 -> 0.08, 60000 steps"),
        ("gankit: the same with γ 0.05 -> 0.005 (shipped before)",
         "80,000-step schedule, gamma 0.05 -> 0.005, 80000 steps")),
        more=stacked_beside_published),
    "r3gan-cost": Table("r3gan_nets.json", (
        "model", "`g_hidden` = `d_hidden`", "`blocks_per_stage`", "`channels_per_group`"), (
        C("parameters (G + D)", "parameters", ",d"), C("forward + backward s", "seconds", ".3f"),
        C("with R1 + R2 s", "penalized", ".3f"),
        C("steps in 80 min, with R1 + R2", steps_in_80_minutes, ",.0f")), more=r3gan_cost),
    "conditional": Table("conditional.json", "entry", (
        C("networks", networks), STEPS, WALL, C("class accuracy", "class_accuracy", "%"),
        C("intra-FID", "intra_fid", ".1f"), C("FID at class size", "fid_class_size", ".1f"),
        C("intra / that", class_size_ratio, ".2f"), FID, C("recall", "recall", ".3f")), (
        ("**cgan**", "cgan, dcgan networks"),
        ("**acgan** (preset: ADC head, λ 2, hinge, SN)", "acgan, dcgan networks"),
        ("**projection** (preset: hinge, SN, `g_ema` 0.999)", "projection, dcgan networks"),
        ("acgan, ADC head, λ 1, hinge, SN", "acgan, class_weight 1, dcgan networks"),
        ("acgan, ADC head, λ 1, hinge, SN, `g_ema` 0.999",
         "acgan, class_weight 1, g_ema, dcgan networks"),
        ("acgan, the paper's head (`ac`), batch-norm D, λ 1",
         "acgan, ac, batch-norm D, dcgan networks"),
        ("acgan, real-only head (`real`), batch-norm D, λ 1",
         "acgan, real, batch-norm D, dcgan networks"),
        ("acgan, `real`, batch-norm D, λ 1, `g_ema` 0.999",
         "acgan, real, batch-norm D, g_ema, dcgan networks"),
        ("acgan, TAC-GAN's twin (`tac`), batch-norm D, λ 1",
         "acgan, tac, batch-norm D, dcgan networks"),
        ("acgan, `adc`, batch-norm D, λ 1", "acgan, adc, batch-norm D, dcgan networks"),
        *((f"acgan, `adc`, batch-norm D, λ {weight}",
           f"acgan, adc, batch-norm D, class_weight {weight}, dcgan networks")
          for weight in (2, 4)),
        ("acgan, `adc`, batch-norm D, λ 1, `g_ema` 0.999",
         "acgan, adc, batch-norm D, g_ema, dcgan networks"),
        ("projection without `g_ema`", "projection, no g_ema, dcgan networks"),
        ("cgan", "cgan"), ("acgan, `ac`, batch-norm D, λ 1", "acgan, ac, batch-norm D"),
        ("projection without `g_ema`", "projection, no g_ema"))),
    "infogan": Table("conditional.json", ("InfoGAN", "seed"), (
        STEPS, WALL,
        C("unsupervised accuracy (Q on held-out digits)", "unsupervised_accuracy", "%"),
        C("cat0 accuracy (generated)", "cat0_accuracy", "%"), FID, C("recall", "recall", ".3f")), (
        *((("with `invariance_weight: 1`", str(seed)), f"infogan, invariance, seed {seed}")
          for seed in range(3)),
        *((("the paper's objective", str(seed)), f"infogan seed {seed}") for seed in range(3)))),
    "caae": Table("conditional.json", "setting", (
        STEPS, WALL, C("re-conditioned class accuracy", "recondition_accuracy", "%"),
        C("reconstruction L1", "reconstruction_l1", ".3f"),
        C("style ratio", "style_ratio", ".2f"), FID), (
        ("**preset** (`z_weight` 0.05)", "caae"), ("`z_weight` 0.1", "caae, z_weight 0.1"),
        ("`z_weight` 0.01 (the paper's)", "caae, z_weight 0.01"),
        ("`z_weight` 0.01, `recondition_weight` 0.2",
         "caae, z_weight 0.01, recondition_weight 0.2"))),
    "pix2pix": Table("translation.json", ("entry", "D"), (
        WALL, C("label preservation", "label_preservation", "%"), C("FID-digits", "fid", ".2f"),
        C("SSIM", "ssim", ".3f"), C("L1", "l1", ".4f"), C("PSNR (dB)", "psnr", ".1f")), (
        (("L1 alone (`pix2pix.gan_weight=0`)", "none"), "L1"),
        (("cGAN alone (`pix2pix.pixel_weight=0`)", "16x16"), "cGAN"),
        (("**L1 + cGAN** (shipped)", "16x16"), "L1+cGAN"),
        (("L1 + cGAN (`model.d_depth=0`)", "1x1 PixelGAN"), "L1+cGAN, PixelGAN 1x1"),
        (("L1 + cGAN (`model.d_depth=2`)", "34x34, the whole image"),
         "L1+cGAN, D sees 34x34 (whole image)")),
        more=yardsticks("L1+cGAN", {
            ("real held-out digits", ""): {"label_preservation": "label_accuracy_real"},
            ("the input edges themselves", ""): {"fid": "fid_input"}})),
    "cyclegan": Table("translation.json", "entry", (
        WALL, C("label preservation A→B", "label_preservation", "%"),
        C("B→A", "label_preservation_ba", "%"), C("FID-digits A→B", "fid", ".2f"),
        C("B→A", "fid_ba", ".2f"), C("SSIM A→B", "ssim", ".3f"), C("B→A", "ssim_ba", ".3f"),
        C("cycle error a", "cycle_l1_a", ".3f"), C("b", "cycle_l1_b", ".3f")), (
        ("cyclegan (shipped: identity 0.5)", "cyclegan"),
        ("`cyclegan.identity_weight=0`", "cyclegan, no identity loss")),
        more=yardsticks("cyclegan", {
            "real digits of the output's domain": {
                "label_preservation": "label_accuracy_real",
                "label_preservation_ba": "label_accuracy_real_ba"},
            "the inputs themselves": {"fid": "fid_input", "fid_ba": "fid_input_ba"}})),
    "view": Table("view.json", "steps a frame", (
        C("frames drawn / s", "frames_per_s", ".1f"), C("view steps / s", "steps_per_s", ".1f"),
        C("x `gankit train`", "training_speed_ratio", ".2f")), more=each_key("median")),
    "feature-disturbances": Table("feature_validation.json", ("images", "feature space",
                                                              "disturbance"), (
        C("levels", "levels"), C("FID at each level", "fid")), more=disturbance_rows),
    "feature-ranking": Table("feature_validation.json", "generator (mnist5k, @ steps)", (
        C("FID, fitted space", "fid_fitted", ".2f"),
        C("FID, digit classifier", "fid_digits", ".0f")),
        more=each("generators", lambda row: row["generator"])),
    "small-data": Table("small_data.json", ("training digits", "augmentation"), (
        C("FID", "fid", ".1f"), C("vs no augmentation", "fid_ratio_to_none", "x"),
        C("ADA's last p", "p_last", ".2f"), C("wall s", "wall_seconds", ".0f")),
        more=each("rows", lambda row: (f"{row['digits']:,}", row["augment"]))),
    "small-data-curves": Table("small_data.json", ("training digits", "augmentation"), (
        C("FID (at step)", "fid"),), more=curve_rows),
    "streaming": Table("streaming.json", "source", (
        C("images/s", "images_per_s", ",.1f"), C("x the trainer's need", "ratio_to_trainer", ".1f"),
        C("x in memory", "ratio_to_in_memory", ".3f")),
        more=streaming_rows),
    "snapshot-cost": Table("snapshot_cost.json", "run (code, steps)", (
        C("steps", "steps", ",d"), C("runs (medians)", "runs", "d"),
        C("snapshots", "snapshots", "d"),
        C("training s", "training_s", ".2f"), C("snapshot s", "snapshot_s", ".2f"),
        C("snapshots / training", "ratio", ".3f"), C("result s", "result_s", ".2f"),
        C("wall s", "wall_s", ".2f"),
        C("drawing process CPU s", "drawing_cpu_s", ".2f")), more=each_key("runs")),
}

# Results files no page shows, each with the reason (every other file must be on a page).
EXCLUDED: dict[str, str] = {}

RENDERERS = {"benchmark-table": render_table, "benchmark-hardware": render_hardware}
