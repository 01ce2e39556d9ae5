"""Does the browser view keep up, and what does watching cost the training?

The same config (shipped ``ring8``: batch 512, 128-wide 3-layer MLPs, hinge loss, one torch
thread; constant learning rates, as the view trains) measured two ways on the same two cores:

- baseline: ``gankit train ring8`` for ``--steps`` steps; steps/s from its metrics.jsonl (the
  windows after the first, which holds the warm-up);
- view: ``gankit view ring8 --port 0`` with its page open in headless Chromium (Debian's, driven
  by Playwright: the real page, drawing every frame it gets), playing for ``--seconds`` s at
  each ``--steps-per-frame``; steps/s and frames/s as the page counts them (frames it received,
  and new frames it drew on the screen).

This machine's speed drifts by 10-20% over minutes, so the rounds alternate (baseline, view,
baseline, view, ...) and each view round is compared with the mean of the baselines around it.
The bars of the issue: at least 20 view updates a second, and training at least 0.75 times as
fast as ``gankit train``. Writes benchmarks/results/view.json with the hardware.

Run: python benchmarks/view.py [--rounds 2] [--seconds 15] [--steps-per-frame 3 4 5]; it also
takes the README's screenshot of the page (docs/view.png) at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gankit.training.hardware import describe
from gankit.view import browser

RESULTS = Path(__file__).parent / "results" / "view.json"
CONFIG = "ring8"
SAME = ["--set", "train.lr_decay_from=1.0"]  # the view's constant learning rates
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
# The first seconds after a reset train slower (the first metrics, oneDNN's first kernels of
# each shape, the page's JIT): left out of every measurement.
WARM_UP_S = 5.0
COUNTERS = "({step: gankitView.step, frames: gankitView.frames, shown: gankitView.shown, " \
           "t: performance.now()})"


def baseline(steps: int, out: Path) -> float:
    """steps/s of ``gankit train`` on the config, from its metrics.jsonl."""
    subprocess.run([sys.executable, "-m", "gankit", "train", CONFIG, *SAME, "--set",
                    f"train.steps={steps}", "--no-progress", "--out", str(out)],
                   check=True, env=ENV, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    records = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    rates = [r["steps_per_s"] for r in records if "steps_per_s" in r]
    return statistics.mean(rates[1:])


def watch(page, steps_per_frame: int, seconds: float) -> dict[str, float]:
    """Play from a fresh run for ``seconds`` at ``steps_per_frame``, as the page counts."""
    page.click("#reset")
    page.wait_for_function("gankitView.step === 0 && !gankitView.playing")
    page.select_option("#speed", str(steps_per_frame))
    page.click("#play")
    time.sleep(WARM_UP_S)
    start = page.evaluate(COUNTERS)
    time.sleep(seconds)
    end = page.evaluate(COUNTERS)
    page.click("#play")  # pause
    span = (end["t"] - start["t"]) / 1000
    return {"steps_per_frame": steps_per_frame,
            "frames_per_s": (end["frames"] - start["frames"]) / span,
            "shown_per_s": (end["shown"] - start["shown"]) / span,
            "steps_per_s": (end["step"] - start["step"]) / span}


def start_view(runs: Path) -> tuple[subprocess.Popen, str]:
    server = subprocess.Popen([sys.executable, "-m", "gankit", "view", CONFIG, "--port", "0",
                               "--runs", str(runs)], env=ENV, stderr=subprocess.PIPE, text=True)
    line = server.stderr.readline()
    if (address := re.search(r"http://\S+/", line)) is None:
        raise SystemExit(f"gankit view did not start: {line}{server.stderr.read()}")
    return server, address.group(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=15.0)
    parser.add_argument("--steps", type=int, default=1500)
    parser.add_argument("--steps-per-frame", type=int, nargs="+", default=[3, 4, 5])
    parser.add_argument("--screenshot", type=Path, default=Path(__file__).parents[1] / "docs" /
                        "view.png", help="the page at the end of the last round (the README's)")
    args = parser.parse_args()
    hardware = describe("cpu")
    print("hardware: " + ", ".join(f"{k} {v}" for k, v in hardware.items()), flush=True)
    rows: list[dict[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp, browser.sync_playwright() as playwright:
        chromium = browser.launch(playwright)
        plain = [baseline(args.steps, Path(tmp) / "train-0")]
        print(f"gankit train {CONFIG}: {plain[-1]:.1f} steps/s", flush=True)
        for round_ in range(args.rounds):
            server, url = start_view(Path(tmp) / "view")
            try:
                page = chromium.new_page(viewport={"width": 1340, "height": 900})
                page.goto(url)
                page.wait_for_function("gankitView.frames > 0")
                order = args.steps_per_frame[::1 if round_ % 2 == 0 else -1]  # no favourite
                watched = [watch(page, k, args.seconds) for k in order]
                if round_ == args.rounds - 1:
                    page.wait_for_timeout(600)  # the curves' last redraw
                    page.screenshot(path=str(args.screenshot))
                page.close()
            finally:
                server.send_signal(signal.SIGINT)
                server.wait(timeout=30)
            plain.append(baseline(args.steps, Path(tmp) / f"train-{round_ + 1}"))
            print(f"gankit train {CONFIG}: {plain[-1]:.1f} steps/s", flush=True)
            around = (plain[-2] + plain[-1]) / 2
            for row in watched:
                row |= {"round": round_, "train_steps_per_s": around,
                        "training_speed_ratio": row["steps_per_s"] / around}
                rows.append(row)
                print(f"view, {row['steps_per_frame']} steps a frame: {row['shown_per_s']:.1f} "
                      f"frames/s shown ({row['frames_per_s']:.1f} received), "
                      f"{row['steps_per_s']:.1f} steps/s = {row['training_speed_ratio']:.2f} x "
                      f"gankit train", flush=True)
        chromium.close()
    summary = {}
    for k in args.steps_per_frame:
        mine = [r for r in rows if r["steps_per_frame"] == k]
        summary[str(k)] = {name: statistics.median(r[name] for r in mine) for name in
                           ("shown_per_s", "frames_per_s", "steps_per_s",
                            "training_speed_ratio")}
        print(f"median, {k} steps a frame: " + ", ".join(
            f"{name} {value:.2f}" for name, value in summary[str(k)].items()), flush=True)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps({"config": CONFIG, "hardware": hardware,
                                   "date": time.strftime("%Y-%m-%d"), "seconds": args.seconds,
                                   "train_steps_per_s": plain, "median": summary,
                                   "rounds": rows}, indent=2) + "\n")


if __name__ == "__main__":
    main()
