#!/usr/bin/env bash
# The attention ranker's CUDA check and timing, one self-contained run.
# Usage: bash bench/gpu_check.sh [DATASETS_DIR] [MINUTES]
# DATASETS_DIR holds ml-1m/ (default ../shared/datasets). Needs torch (CUDA build), numpy,
# pandas, pyarrow, scipy, safetensors, tqdm; no package index and no studio packages.
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH="$PWD" PYTHONUNBUFFERED=1
DATA="${1:-../shared/datasets}"
MINUTES="${2:-4}"
OUTFILE="${OUT:-bench/results}/gpu_check.json"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total --format=csv
python3 bench/gpu_check.py --datasets "$DATA" --minutes "$MINUTES" --out "$OUTFILE"
