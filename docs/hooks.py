"""mkdocs hooks of gankit's site: what keeps the build offline and the chapters quick in CI.

- MathJax 2 comes from the ``jupyter-server-mathjax`` package (installed by the ``docs`` extra)
  and is served from the site itself under ``assets/mathjax/``, so no page asks a CDN.
- The benchmarks' pictures stay where the benchmarks write them (``benchmarks/results/``, outside
  ``docs/``) and are served as ``benchmarks/results/...``: a page in ``docs/benchmarks/`` links
  ``results/NAME/x.png``.
- ``GANKIT_DOCS_QUICK=1`` (set by the tests and ``.ci/run``) is passed to the chapters' kernels:
  each Learn chapter reads it and trains for fewer steps.
"""

from __future__ import annotations

from pathlib import Path

import jupyter_server_mathjax
from mkdocs.structure.files import File, Files

MATHJAX = Path(jupyter_server_mathjax.__file__).parent / "static"
RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"
SKIPPED = ("localization/", "jax/output/SVG/", "unpacked/")  # not used by the HTML-CSS output


def on_files(files: Files, config) -> Files:
    """Add MathJax's files (assets/mathjax/...) and the benchmarks' pictures to the site."""
    for path in sorted(MATHJAX.rglob("*")):
        relative = path.relative_to(MATHJAX).as_posix()
        if path.is_file() and not relative.startswith(SKIPPED):
            files.append(File.generated(config, f"assets/mathjax/{relative}",
                                        abs_src_path=str(path)))
    for path in sorted(RESULTS.rglob("*.png")):
        relative = path.relative_to(RESULTS).as_posix()
        files.append(File.generated(config, f"benchmarks/results/{relative}",
                                    abs_src_path=str(path)))
    return files
