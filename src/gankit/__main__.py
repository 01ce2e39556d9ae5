"""``python -m gankit`` (and ``torchrun --nproc_per_node=N -m gankit train ...``)."""

import sys

from gankit.cli import main

sys.exit(main())
