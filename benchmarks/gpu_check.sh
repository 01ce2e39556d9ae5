#!/usr/bin/env bash
# The GPU check, for a machine with CUDA (never part of CI): the CUDA tests, then the DCGAN
# throughput benchmark on cuda with precision auto, figures and hardware to $OUT (default
# benchmarks/results). Prepared to finish in under 5 minutes on one GPU:
#
#   bash benchmarks/gpu_check.sh            # uses python3 (a torch with CUDA must be installed)
#   PYTHON=.venv/bin/python OUT=/tmp/gpu bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
OUT=${OUT:-benchmarks/results}
mkdir -p "$OUT"
export PYTHONPATH="$PWD/src${PYTHONPATH:+:$PYTHONPATH}"

if ! "$PYTHON" -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA device visible to $PYTHON's torch; nothing to check" >&2
    exit 1
fi
"$PYTHON" -c "import torch; print('torch', torch.__version__, 'cuda', torch.version.cuda, \
torch.cuda.get_device_name(0), 'bf16', torch.cuda.is_bf16_supported())" | tee "$OUT/gpu_check.txt"

status=0
timeout 150 "$PYTHON" -m pytest -p no:cacheprovider -q -o addopts="" tests/test_cuda.py \
    2>&1 | tee -a "$OUT/gpu_check.txt" || status=1
timeout 150 "$PYTHON" benchmarks/dcgan_throughput.py --device cuda --threads 4 --steps 100 \
    --rounds 3 --out "$OUT/dcgan_throughput_cuda.json" 2>&1 | tee -a "$OUT/gpu_check.txt" \
    || status=1
exit $status
