"""Load time and peak memory of the ways a checkpoint is loaded, each in a fresh process.

    .venv/bin/python bench/load_paths.py [--checkpoint bench/work/ViT-H-14-random.pt] \
        [--old-code DIR] [--repeats 2]

Runs ``bench/ours_ready.py`` per case: ``checkpoint`` (read and cast the .pt on every load),
``prepare`` (the first load with a weights dir: converts to safetensors, then loads it),
``prepared`` (later loads: the safetensors copy memory-mapped), each at fp32 and bf16, eager
and with the lazy text tower; with ``--old-code`` (a checkout of an older revision, e.g.
``git worktree add ../rel-0.1.0 8cf2dd4``) also that revision's loader. Prints one JSON line
per run and the CPU flags it ran on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
READY = HERE / "ours_ready.py"


def cpu_flags() -> list[str]:
    try:
        flags = next(
            line.split(":", 1)[1].split()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("flags")
        )
    except (OSError, StopIteration):
        return []
    wanted = ("avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_bf16")
    return [f for f in wanted if f in flags]


def run(args: list[str], pythonpath: str | None = None) -> dict:
    env = dict(os.environ)
    if pythonpath:
        env["PYTHONPATH"] = pythonpath
    out = subprocess.run(
        [sys.executable, str(READY), *args], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default=str(HERE / "work" / "ViT-H-14-random.pt"))
    parser.add_argument("--arch", default="ViT-H-14")
    parser.add_argument("--old-code", help="checkout of an older revision to compare")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    print(json.dumps({"cpu_flags": cpu_flags(), "cores": os.cpu_count()}))
    base = ["--checkpoint", args.checkpoint, "--arch", args.arch]
    for precision in ("fp32", "bf16"):
        for lazy in ([], ["--lazy-text"]):
            common = [*base, "--precision", precision, *lazy]
            weights = Path(tempfile.mkdtemp(prefix="hps-weights-"))
            try:
                cases = [("prepare", [*common, "--weights-dir", str(weights)], None)]
                for _ in range(args.repeats):
                    cases.append(("prepared", [*common, "--weights-dir", str(weights)], None))
                    cases.append(("checkpoint", common, None))
                    if args.old_code:
                        cases.append(("old-code", common, args.old_code))
                for name, cmd, path in cases:
                    result = run(cmd, path)
                    print(json.dumps({"case": name, **result}), flush=True)
            finally:
                shutil.rmtree(weights, ignore_errors=True)


if __name__ == "__main__":
    main()
