#!/usr/bin/env bash
# Records on the `h200` profile with NVML energy, for the reference entries' cheapest operating
# points on AG News, in under 7 minutes on one H200.
#
#   bash tools/gpu_h200.sh [DATA_DIR] [OUT_DIR]
#
# DATA_DIR defaults to $GREENBENCH_DATA_DIR, else ../shared/data; OUT_DIR to runs-h200/. When $OUT
# is set (the device runner's output folder) the records are also packed into $OUT/records.tgz,
# with the log in $OUT/gpu_h200.log. Commit what lands in OUT_DIR after `greenbench validate
# OUT_DIR` passes.
#
# On a machine without network, first run `python tools/device_pack.py` where there is one and
# bring `.device/` along: the script then installs the harness's missing wheels from it, puts the
# repository on the path (.pth, no build), installs the MiniLM stand-in (weights carried as bf16,
# restored to fp32: see device_pack.py) and reads the data it packed. The image's own torch is
# used there (the records' fingerprints carry its version); elsewhere the CUDA build of the pinned
# torch is installed.
#
# Status: not yet run on a GPU. Session 6 packed `.device/` (46.5 MiB with AG News; the tree
# travels at 59 MiB of the runner's 64) and asked once; the runner answered that no new machine
# was lent at present.
set -uo pipefail
cd "$(dirname "$0")/.."

DATA_DIR="${1:-${GREENBENCH_DATA_DIR:-../shared/data}}"
OUT_DIR="${2:-runs-h200}"
TORCH_INDEX="${TORCH_INDEX:-https://download.pytorch.org/whl/cu128}"
BUDGET_S="${BUDGET_S:-400}"
START=$(date +%s)
export HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 TOKENIZERS_PARALLELISM=false PYTHONUNBUFFERED=1

step() { printf '[gpu_h200 %4ss] %s\n' "$(( $(date +%s) - START ))" "$*"; }
left() { echo $(( BUDGET_S - ($(date +%s) - START) )); }
pack() {
  if [[ -n "${OUT:-}" && -d "$OUT_DIR" ]]; then tar czf "$OUT/records.tgz" -C "$OUT_DIR" . && step "records packed into \$OUT/records.tgz"; fi
}
trap pack EXIT

step "GPU: $(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
nvidia-smi --query-gpu=name --format=csv,noheader | grep -q H200 || { echo "not an H200: stop"; exit 2; }

if [[ -d .device ]]; then
  step "offline set-up from .device/"
  python3 -m pip install -q --no-index --no-deps --no-compile .device/whl/*.whl || { step "wheel install failed"; exit 2; }
  SITE=$(python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  echo "$PWD" >"$SITE/greenbench-repo.pth"
  python3 tools/device_pack.py --unpack "$SITE" --data-out .device/raw-data || { step "unpack failed"; exit 2; }
  DATA_DIR=.device/raw-data
elif ! python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() and torch.__version__.startswith("2.13.0") else 1)'; then
  step "installing the CUDA build of torch 2.13.0 from $TORCH_INDEX"
  python3 -m pip install --quiet "torch==2.13.0" --index-url "$TORCH_INDEX" && python3 -m pip install --quiet -e .
fi
test -d "$DATA_DIR/ag_news" || { echo "no task data at $DATA_DIR: pass DATA_DIR"; exit 2; }
python3 - <<'PY'
import torch, pynvml
assert torch.cuda.is_available(), "this torch sees no GPU"
pynvml.nvmlInit()
h = pynvml.nvmlDeviceGetHandleByIndex(0)
try:
    energy = pynvml.nvmlDeviceGetTotalEnergyConsumption(h)
except pynvml.NVMLError as exc:
    energy = f"unsupported ({exc})"
print("torch", torch.__version__, "cuda", torch.version.cuda, "| energy counter mJ:", energy,
      "| power mW:", pynvml.nvmlDeviceGetPowerUsage(h))
from benchmark.isolation import available_isolation
print("isolation available:", available_isolation())
PY

# The cheapest operating point of each reference entry, cheapest first, so that a budget overrun
# still leaves the cheap records. Each line: entry task extra-args (limits keep fits short).
JOBS=(
  "majority-class ag_news --train-limit 3000 --limit 2000"
  "minilm-linear-probe ag_news --train-limit 3000 --limit 2000"
  "minilm-finetune ag_news --train-limit 3000 --limit 2000"
  "early-exit ag_news --train-limit 3000 --limit 2000 --param threshold=0.8"
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
python3 - "$OUT_DIR" <<'PY'
import json, sys
from pathlib import Path
for metrics in sorted(Path(sys.argv[1]).rglob("metrics.json")):
    m = json.loads(metrics.read_text())
    e = m.get("energy") or {}
    print(metrics.parent.relative_to(sys.argv[1]), "| acc", (m.get("accuracy") or {}), "| source", e.get("energy_source"),
          "| measured", e.get("measured"), "| kWh/1k", e.get("energy_kwh_per_1k"), "| flags", e.get("meter_flags"),
          "| unstable", e.get("unstable"))
PY
step "done: records in $OUT_DIR"
