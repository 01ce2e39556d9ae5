"""A fitted feature space (``gankit features fit``) validated as the FID paper validates FID
(Heusel et al. 2017, Fig. 1): the distance to real images grows with each disturbance, and it
ranks generators as an established feature space does.

(a) Disturbances at increasing levels: Gaussian noise, Gaussian blur, implanted rectangles, and
dropped classes (mnist5k: 0, 2, 4, 6, 8 of 10) or modes (coloured crops of scikit-learn's two
sample photographs, china.jpg and flower.jpg: 0, 40, 80, 100% of the flower crops dropped, then
20% and 60% of the china crops too). FID between real reference
images and disturbed held-out images, in a space fitted to each data set (SimCLR, the CLI's
defaults) and, on mnist5k, in the digit classifier's beside it; each row must rise
monotonically. (b) Ten generators on mnist5k (checkpoints along one DCGAN non-saturating run,
and short runs of four other losses), ranked by FID in the fitted space and in the digit
classifier's: Spearman's rho >= 0.9.

    nice -n 5 .venv/bin/python benchmarks/feature_validation.py

Everything on one torch thread; about ten minutes on two cores. Writes
benchmarks/results/feature_validation.json (with the hardware) and prints both tables.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

import gankit
from gankit.data.images import mnist5k_arrays, to_unit_range
from gankit.metrics import learned
from gankit.metrics.features import fid

RESULTS = Path(__file__).parent / "results" / "feature_validation.json"
N_REFERENCE, N_TEST = 2000, 600  # real reference images; disturbed images per level
SEED = 0
# (disturbance, levels): noise sigma and blur sigma in [-1, 1] units and pixels, rectangles
# implanted per image, the share of classes (modes) dropped
LEVELS = {"noise": (0.0, 0.1, 0.25, 0.5, 1.0), "blur": (0.0, 0.5, 1.0, 1.5, 2.5),
          "rectangles": (0, 1, 2, 4, 8), "drop": (0.0, 0.2, 0.4, 0.6, 0.8)}
# generators: (name, shipped config, steps at which G is measured)
GENERATORS = [("non-saturating", "mnist5k", (25, 100, 250, 500, 1000, 1500)),
              ("lsgan", "mnist5k-lsgan", (400,)), ("hinge+sn", "mnist5k-hinge-sn", (400,)),
              ("wgan-gp", "mnist5k-wgan-gp", (100,)), ("began", "mnist5k-began", (300,))]
N_GENERATED = 1000


def gaussian_blur(x: Tensor, sigma: float) -> Tensor:
    """x [N, C, H, W] convolved with a Gaussian of ``sigma`` pixels, each axis, reflected."""
    if sigma == 0:
        return x
    radius = max(1, round(3 * sigma))
    taps = torch.exp(-torch.arange(-radius, radius + 1).float() ** 2 / (2 * sigma ** 2))
    taps = (taps / taps.sum()).repeat(x.shape[1], 1, 1, 1)  # [C, 1, 1, K]
    x = F.conv2d(F.pad(x, (radius, radius, 0, 0), mode="reflect"), taps, groups=x.shape[1])
    return F.conv2d(F.pad(x, (0, 0, radius, radius), mode="reflect"),
                    taps.transpose(2, 3), groups=x.shape[1])


def implant_rectangles(x: Tensor, count: int, generator: torch.Generator) -> Tensor:
    """``count`` rectangles of a quarter of the side, each one random grey level, per image."""
    x = x.clone()
    n, _, h, w = x.shape
    side_h, side_w = h // 4, w // 4
    for _ in range(count):
        top = torch.randint(h - side_h + 1, (n,), generator=generator)
        left = torch.randint(w - side_w + 1, (n,), generator=generator)
        value = torch.rand(n, generator=generator) * 2 - 1
        for i in range(n):
            x[i, :, top[i]:top[i] + side_h, left[i]:left[i] + side_w] = value[i]
    return x


def drop_modes(pool: Tensor, modes: Tensor, share: float, n: int,
               generator: torch.Generator) -> Tensor:
    """``n`` images of ``pool`` drawn without replacement after dropping ``share`` of its K
    modes, the highest-numbered first: share * K modes in all, the last one in part (with
    two modes, share 0.4 drops 80% of mode 1's images)."""
    kinds = modes.unique().flip(0)
    keep = torch.ones(len(pool), dtype=torch.bool)
    for j, kind in enumerate(kinds.tolist()):
        part = min(max(share * len(kinds) - j, 0.0), 1.0)
        members = torch.nonzero(modes == kind).flatten()
        keep[members[:round(part * len(members))]] = False
    index = torch.nonzero(keep).flatten()
    return pool[index[torch.randperm(len(index), generator=generator)[:n]]]


def disturbance_table(spaces: dict[str, object], reference: Tensor, pool: Tensor,
                      modes: Tensor) -> dict[str, dict[str, list[float]]]:
    """FID of every disturbance level against the reference, in each space: space -> kind ->
    one FID per level. The clean images are the same draw for every kind."""
    generator = torch.Generator().manual_seed(SEED)
    test = pool[torch.randperm(len(pool), generator=generator)[:N_TEST]]
    noise = torch.randn(test.shape, generator=generator)
    disturbed = {
        "noise": [(test + s * noise).clamp(-1, 1) for s in LEVELS["noise"]],
        "blur": [gaussian_blur(test, s) for s in LEVELS["blur"]],
        "rectangles": [implant_rectangles(test, k, torch.Generator().manual_seed(SEED))
                       for k in LEVELS["rectangles"]],
        "drop": [drop_modes(pool, modes, share, N_TEST, torch.Generator().manual_seed(SEED))
                 for share in LEVELS["drop"]],
    }
    table: dict[str, dict[str, list[float]]] = {}
    for name, space in spaces.items():
        f_reference = space.features(reference)
        table[name] = {kind: [fid(f_reference, space.features(x)) for x in images]
                       for kind, images in disturbed.items()}
    return table


def photo_crops(n: int, seed: int, side: int = 32) -> tuple[Tensor, Tensor]:
    """``n`` random ``side``-pixel crops (uint8 [n, 3, side, side]) of scikit-learn's sample
    photographs at half size, half from each, and which photo each came from (0 china,
    1 flower)."""
    from sklearn.datasets import load_sample_images

    rng = np.random.default_rng(seed)
    crops, modes = [], []
    for mode, photo in enumerate(load_sample_images().images):
        half = torch.from_numpy(photo.copy()).permute(2, 0, 1)[None].float()
        half = F.interpolate(half, scale_factor=0.5, mode="bilinear", antialias=True)[0]
        for _ in range(n // 2):
            top = rng.integers(half.shape[1] - side + 1)
            left = rng.integers(half.shape[2] - side + 1)
            crops.append(half[:, top:top + side, left:left + side])
            modes.append(mode)
    images = torch.stack(crops).round().clamp(0, 255).to(torch.uint8)
    return images, torch.tensor(modes)


def fit_space(images: Tensor, data: str) -> tuple[learned.LearnedFeatures, float]:
    start = time.perf_counter()
    space = learned.fit(images, seed=SEED, data=data)  # the CLI's defaults
    return space, time.perf_counter() - start


def generator_ranking(space: learned.LearnedFeatures, digits: object, real: Tensor
                      ) -> tuple[list[dict[str, object]], float]:
    """FID of each generator in both spaces, against ``real`` training digits; the seconds
    spent training."""
    f_real = {"fitted": space.features(real), "digits": digits.features(real)}
    rows, seconds = [], 0.0
    for loss, config, checkpoints in GENERATORS:
        run = gankit.build(config, overrides=["train.threads=1", f"train.steps={checkpoints[-1]}"],
                           progress=False, snapshots=False)
        for step in checkpoints:
            start = time.perf_counter()
            run.fit(step)
            seconds += time.perf_counter() - start
            fake = run.sample(N_GENERATED, seed=SEED)
            rows.append({"generator": f"{loss} @ {step}",
                         "fid_fitted": fid(f_real["fitted"], space.features(fake)),
                         "fid_digits": fid(f_real["digits"], digits.features(fake))})
            print(f"  {rows[-1]['generator']:24s} fitted {rows[-1]['fid_fitted']:9.3f}  "
                  f"digits {rows[-1]['fid_digits']:9.2f}", flush=True)
    return rows, seconds


def is_rising(values: list[float]) -> bool:
    return all(b > a for a, b in zip(values[:-1], values[1:], strict=True))


def print_disturbances(title: str, table: dict[str, dict[str, list[float]]]) -> None:
    print(f"\n{title}: FID against real images, by disturbance level")
    for space, kinds in table.items():
        for kind, values in kinds.items():
            levels = ", ".join(f"{v:.3g}" for v in values)
            print(f"  {space:7s} {kind:10s} levels {LEVELS[kind]}: {levels}"
                  f"  {'rising' if is_rising(values) else 'NOT RISING'}")


def main() -> None:
    from scipy.stats import spearmanr

    from gankit.evaluation.features import feature_extractor
    from gankit.training.hardware import describe
    from gankit.training.runlog import write_json

    torch.set_num_threads(1)
    record: dict[str, object] = {"hardware": describe("cpu"), "seed": SEED, "levels": LEVELS,
                                 "n_reference": N_REFERENCE, "n_test": N_TEST}

    data = gankit.build("mnist5k", progress=False, snapshots=False).data  # the training split
    digits_space = feature_extractor(data, "digits")
    space, seconds = fit_space(data.images, "mnist5k")
    print(f"fitted mnist5k's feature space in {seconds:.0f} s ({data.images.shape[0]} images, "
          f"{space.fitted['steps']} steps, 1 thread)", flush=True)
    record["fit_mnist5k"] = {"seconds": seconds, **space.fitted}
    images, labels = mnist5k_arrays()
    order = torch.randperm(len(images), generator=torch.Generator().manual_seed(SEED))
    reference, pool = to_unit_range(images[order[:N_REFERENCE]]), order[N_REFERENCE:]
    mnist = disturbance_table({"fitted": space, "digits": digits_space}, reference,
                              to_unit_range(images[pool]), labels[pool])
    print_disturbances("mnist5k", mnist)

    crops, modes = photo_crops(4000, SEED + 1)
    colour_space, colour_seconds = fit_space(crops, "sample-photo crops 32x32")
    print(f"fitted the photo crops' feature space in {colour_seconds:.0f} s", flush=True)
    record["fit_photos"] = {"seconds": colour_seconds, **colour_space.fitted}
    reference, _ = photo_crops(N_REFERENCE, SEED + 2)
    pool, pool_modes = photo_crops(5 * N_TEST, SEED + 3)
    photos = disturbance_table({"fitted": colour_space}, to_unit_range(reference),
                               to_unit_range(pool), pool_modes)
    print_disturbances("photo crops", photos)
    record["disturbances"] = {"mnist5k": mnist, "photos": photos}
    record["all_rising"] = all(is_rising(v) for table in (mnist, photos)
                               for kinds in table.values() for v in kinds.values())

    print("\ngenerators on mnist5k: FID in the fitted space and in the digit classifier's")
    real = to_unit_range(data.images[:N_GENERATED])
    rows, train_seconds = generator_ranking(space, digits_space, real)
    rho = float(spearmanr([r["fid_fitted"] for r in rows], [r["fid_digits"] for r in rows])[0])
    print(f"Spearman rho {rho:.3f} over {len(rows)} generators ({train_seconds:.0f} s of "
          f"training)")
    record["generators"] = rows
    record["spearman"] = rho
    record["training_seconds"] = train_seconds
    write_json(RESULTS, record)
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
