#!/usr/bin/env bash
# Records on the `h200` profile with measured NVML energy, for the reference entries' cheapest
# operating points, in under 8 minutes on one H200.
#
#   bash tools/gpu_h200.sh [DATA_DIR] [OUT_DIR]
#
# DATA_DIR defaults to $GREENBENCH_DATA_DIR, else ../shared/data; OUT_DIR to $OUT/records when $OUT
# is set (the device runner's output folder), else runs-h200/. Commit what lands in OUT_DIR after
# `greenbench validate OUT_DIR` passes.
#
# Status: written, NOT yet run: no H200 was lent to the session that wrote it. Expect to fix small
# things on the first run; the steps print what they do and stop at the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA_DIR="${1:-${GREENBENCH_DATA_DIR:-../shared/data}}"
OUT_DIR="${2:-${OUT:+$OUT/records}}"
OUT_DIR="${OUT_DIR:-runs-h200}"
TORCH_INDEX="${TORCH_INDEX:-https://download.pytorch.org/whl/cu128}"
BUDGET_S="${BUDGET_S:-460}"  # leave ~20 s of the 8 minutes for installing checks and validation
START=$(date +%s)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false

step() { printf '[gpu_h200 %4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
left() { echo $(( BUDGET_S - ($(date +%s) - START) )); }

step "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "not an H200: stop"; exit 2; }
test -d "$DATA_DIR/ag_news" || { echo "no task data at $DATA_DIR: pass DATA_DIR"; exit 2; }

if ! python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() and torch.__version__.startswith("2.13.0") else 1)'; then
  step "installing the CUDA build of torch 2.13.0 from $TORCH_INDEX"
  python3 -m pip install --quiet "torch==2.13.0" --index-url "$TORCH_INDEX"
fi
python3 -m pip install --quiet -e . >/dev/null
python3 - <<'EOF'
import torch, pynvml
assert torch.cuda.is_available(), "the CUDA build of torch sees no GPU"
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
print("torch", torch.__version__, "cuda", torch.version.cuda, "| energy counter mJ:",
      pynvml.nvmlDeviceGetTotalEnergyConsumption(h))
EOF

# The cheapest operating point of each reference entry, cheapest first, so that a budget overrun
# still leaves the cheap records. Each line: entry task extra-args (limits keep fits short).
JOBS=(
  "majority-class ag_news --train-limit 2000"
  "minilm-linear-probe ag_news --train-limit 2000"
  "early-exit ag_news --train-limit 2000 --param threshold=0.8"
  "minilm-finetune ag_news --train-limit 2000"
  "minilm-linear-probe winogrande --train-config xs"
)
for job in "${JOBS[@]}"; do
  read -r entry task extra <<<"$job"
  remaining=$(left)
  if (( remaining < 45 )); then step "budget spent: skipping $entry/$task and the rest"; break; fi
  step "run $entry on $task ($remaining s left)"
  # shellcheck disable=SC2086
  python3 -m benchmark.cli run --submission "submissions/$entry" --task "$task" --profile h200 \
    --data-dir "$DATA_DIR" --out "$OUT_DIR" --timeout "$remaining" --quiet $extra \
    || step "FAILED: $entry/$task (its failed record, if any, is in $OUT_DIR)"
done

step "validate"
python3 -m benchmark.cli validate "$OUT_DIR" --data-dir "$DATA_DIR" || true
python3 - "$OUT_DIR" <<'EOF'
import json, sys
from pathlib import Path
for metrics in sorted(Path(sys.argv[1]).rglob("metrics.json")):
    m = json.loads(metrics.read_text())
    e = m.get("energy") or {}
    print(metrics.parent.relative_to(sys.argv[1]), "| source", e.get("energy_source"), "| measured", e.get("measured"),
          "| kWh/1k", e.get("energy_kwh_per_1k"), "| samples", e.get("power_samples"), "| flags", e.get("meter_flags"),
          "| unstable", e.get("unstable"))
EOF
step "done: records in $OUT_DIR"
