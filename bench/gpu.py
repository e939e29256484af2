"""The GPU path, measured in one run: fidelity of fp16 autocast, speed end to end.

    .venv/bin/python bench/gpu.py --out bench/work/gpu            # on a CUDA machine
    .venv/bin/python bench/gpu.py --smoke --out /tmp/gpu-smoke     # any machine, a minute

Full run (needs CUDA): makes what is missing (the random ViT-H-14 checkpoint of
``bench/make_checkpoint.py``; 3,200 images as ``bench/make_images.py`` makes them, made in
parallel, identical to its output), then, in order, writing ``<out>/summary.json`` after each
stage so a run cut short keeps what it measured:

1. ``decode``: images/s of decode + preprocess alone, for several thread counts (the ceiling
   the model can be fed at).
2. ``fidelity``: the whole folder through :func:`scorer.benchmark.run_benchmark` at ``auto``
   precision (fp16 autocast on CUDA, as the official evaluation) and at fp32 on the same GPU,
   and the first ``--cpu-per-style`` images of each style at fp32 on the CPU: max and mean
   per-image |delta|, and how far each style mean moves. Speed of both GPU runs: seconds,
   images/s, time to the first scored batch, peak GPU memory.
3. ``cli``: ``python -m scorer benchmark DIR ...`` as a user runs it (own process; cold text
   cache, then warm): wall seconds and images/s, decode and model load included.
4. ``worker``: the folder submitted to a SQLite store and scored by one
   :class:`submissions.worker.Worker` job: seconds, images/s, time to the first committed
   batch, peak GPU memory.

``--smoke`` runs every stage on a tiny random model and 12 images a style, on CUDA if present
else on the CPU (where ``auto`` is bf16 or fp32), to show the script works. It prints the
summary as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import torch

# bench/ is this script's folder (first on sys.path); the project is installed (make setup)
from make_checkpoint import DEFAULT_OUT as VIT_H_CHECKPOINT
from make_checkpoint import make_checkpoint
from make_images import SIZES, STYLES, synth_image

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

DEFAULT_PROMPTS = ROOT.parent / "shared" / "data" / "hps_benchmark_prompts.json"


# --- inputs ---------------------------------------------------------------------------
def _make_one(job: tuple[str, int, int, int, int]) -> None:
    """One image exactly as make_images.make_images writes it."""
    out, s, idx, seed, quality = job
    path = Path(out) / STYLES[s] / f"{idx:05d}.jpg"
    if path.is_file():
        return
    rng = np.random.default_rng([seed, s, idx])
    width, height = SIZES[(idx + s) % len(SIZES)]
    synth_image(rng, width, height).save(path, quality=quality)


def make_folder(out: Path, per_style: int, *, seed: int = 0) -> Path:
    for style in STYLES:
        (out / style).mkdir(parents=True, exist_ok=True)
    jobs = [(str(out), s, i, seed, 92) for s in range(len(STYLES)) for i in range(per_style)]
    with ProcessPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        list(pool.map(_make_one, jobs, chunksize=16))
    return out


def subset_folder(src: Path, dest: Path, per_style: int) -> Path:
    """The first ``per_style`` images of each style, as links."""
    for style in STYLES:
        (dest / style).mkdir(parents=True, exist_ok=True)
        for path in sorted((src / style).iterdir())[:per_style]:
            link = dest / style / path.name
            if not link.exists():
                link.symlink_to(path.resolve())
    return dest


def prompts_file(args, out: Path) -> Path:
    if args.prompts.is_file():
        return args.prompts
    path = out / "prompts-synthetic.json"  # 800 a style, so every count check passes
    path.write_text(
        json.dumps({s: [f"{s} picture number {i}" for i in range(800)] for s in STYLES})
    )
    return path


# --- measurements ---------------------------------------------------------------------
def gpu_peak_reset(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def gpu_peak_gib(device: str) -> float | None:
    if not device.startswith("cuda"):
        return None
    torch.cuda.synchronize()
    return round(torch.cuda.max_memory_allocated() / 2**30, 3)


def decode_rate(scorer, folder: Path, workers: int) -> dict:
    from scorer.benchmark import collect
    from scorer.prompts import load_prompt_sets
    from scorer.scoring import _prefetch

    items, _ = collect(folder, load_prompt_sets(PROMPTS_PATH))
    batches = [items[i : i + 64] for i in range(0, len(items), 64)]
    t0 = time.perf_counter()
    n = 0
    for batch, _tensors in _prefetch(lambda it: scorer.preprocess(it.path), batches, workers):
        n += len(batch)
    seconds = time.perf_counter() - t0
    return {"workers": workers, "images": n, "seconds": round(seconds, 3),
            "images_per_s": round(n / seconds, 1)}  # fmt: skip


def timed_benchmark(scorer, folder: Path, prompts, batch: int, workers: int, device: str) -> dict:
    from scorer.benchmark import run_benchmark

    first: list[float] = []
    gpu_peak_reset(device)
    t0 = time.perf_counter()
    result = run_benchmark(
        scorer, folder, prompts, batch_size=batch, workers=workers,
        progress=lambda done, total: first or first.append(time.perf_counter() - t0),
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    n = sum(v is not None for vs in result.scores.values() for v in vs)
    return {
        "result": result,
        "speed": {
            "precision": scorer.precision, "images": n, "seconds": round(seconds, 3),
            "images_per_s": round(n / seconds, 1), "first_batch_s": round(first[0], 3),
            "peak_gpu_gib": gpu_peak_gib(device),
        },
    }  # fmt: skip


def deltas(a, b) -> dict:
    """Per-image |a - b| over the images both scored, and each style's mean move."""
    per_image, moves = [], {}
    for style in STYLES:
        pairs = [(x, y) for x, y in zip(a.scores[style], b.scores[style]) if None not in (x, y)]
        if not pairs:
            continue
        xs, ys = np.array(pairs).T
        per_image.extend(np.abs(xs - ys).tolist())
        moves[style] = round(float(xs.mean() - ys.mean()), 5)
    return {"images": len(per_image), "max_abs": round(max(per_image), 5),
            "mean_abs": round(float(np.mean(per_image)), 5), "style_mean_moves": moves}  # fmt: skip


def cli_run(folder: Path, ckpt: Path, arch: str, batch: int, workers: int, data: Path,
            device: str) -> dict:  # fmt: skip
    out_json = data / "result.json"
    cmd = [sys.executable, "-m", "scorer", "benchmark", str(folder), "--checkpoint", str(ckpt),
           "--arch", arch, "--prompts", str(PROMPTS_PATH), "--precision", "auto",
           "--batch-size", str(batch), "--workers", str(workers),
           "--json", str(out_json)]  # fmt: skip
    env = {**os.environ, "HPS_DATA_DIR": str(data), "HPS_DEVICE": device, "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise SystemExit(f"failed: {shlex.join(cmd)}\n{proc.stderr[-3000:]}")
    result = json.loads(out_json.read_text())
    n = sum(v is not None for vs in result["scores"].values() for v in vs)
    return {"cmd": shlex.join(cmd), "images": n, "wall_s": round(seconds, 3),
            "images_per_s": round(n / seconds, 1), "precision": result["precision"]}  # fmt: skip


def worker_run(folder: Path, ckpt: Path, arch: str, batch: int, device: str, data: Path,
               partial: bool) -> dict:  # fmt: skip
    from leaderboard import Store
    from submissions import submit
    from submissions.settings import SubmissionSettings
    from submissions.worker import Worker

    settings = SubmissionSettings(
        data_dir=str(data), checkpoint=str(ckpt), arch=arch, device=device, precision="auto",
        prompts=str(PROMPTS_PATH), batch_size=batch,
    )  # fmt: skip
    with Store.open(settings) as store:
        sid = submit(store, folder, model="gpu-bench", settings=settings, partial=partial)
        sid = sid.submission_id
        total = store.get_submission(sid).images_total
        worker = Worker(store, settings)
        worker.scorer(settings.version)  # load first: the job's time is scoring alone
        first: list[float] = []
        done = threading.Event()

        def watch() -> None:
            while not done.is_set() and not first:
                if store.get_submission(sid).images_done > 0:
                    first.append(time.perf_counter() - t0)
                time.sleep(0.01)

        gpu_peak_reset(device)
        t0 = time.perf_counter()
        watcher = threading.Thread(target=watch)
        watcher.start()
        worker.run_once()
        seconds = time.perf_counter() - t0
        done.set()
        watcher.join()
        info = store.get_submission(sid)
    return {"status": info.status, "images": info.images_done, "of": total,
            "seconds": round(seconds, 3), "images_per_s": round(info.images_done / seconds, 1),
            "first_batch_s": round(first[0], 3) if first else None,
            "peak_gpu_gib": gpu_peak_gib(device), "precision": info.precision}  # fmt: skip


# --- the run --------------------------------------------------------------------------
PROMPTS_PATH: Path = DEFAULT_PROMPTS


def main() -> None:
    global PROMPTS_PATH
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "work" / "gpu")
    parser.add_argument("--smoke", action="store_true", help="tiny model, 12 images a style")
    parser.add_argument("--prompts", type=Path, default=DEFAULT_PROMPTS)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--workers", type=int, default=min(16, os.cpu_count() or 1))
    parser.add_argument("--cpu-per-style", type=int, default=16)
    args = parser.parse_args()
    from scorer import load_scorer
    from scorer.prompts import load_prompt_sets

    cuda = torch.cuda.is_available()
    if not cuda and not args.smoke:
        raise SystemExit("no CUDA device: this measures the GPU path (use --smoke for a CPU check)")
    device = "cuda" if cuda else "cpu"
    out = args.out
    out.mkdir(parents=True, exist_ok=True)
    per_style = 12 if args.smoke else 800
    cpu_per_style = min(4 if args.smoke else args.cpu_per_style, per_style)
    summary: dict = {
        "mode": "smoke" if args.smoke else "full", "device": device,
        "gpu": torch.cuda.get_device_name() if cuda else None, "torch": torch.__version__,
        "cpu_count": os.cpu_count(), "batch_size": args.batch_size, "workers": args.workers,
    }  # fmt: skip

    def save(stage: str, value) -> None:
        summary[stage] = value
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
        print(f"[{time.strftime('%H:%M:%S')}] {stage}: {json.dumps(value)}", file=sys.stderr)

    t_setup = time.perf_counter()
    if args.smoke:
        from scorer.tiny import make_tiny_checkpoint

        ckpt, arch_path = make_tiny_checkpoint(out / "tiny", seed=0)
        arch = str(arch_path)
    else:
        ckpt, arch = VIT_H_CHECKPOINT, "ViT-H-14"
        if not ckpt.is_file():
            make_checkpoint(ckpt)
    folder = make_folder(out / f"images-{per_style}", per_style)
    PROMPTS_PATH = prompts_file(args, out)
    prompts = load_prompt_sets(PROMPTS_PATH)
    setup_s = round(time.perf_counter() - t_setup, 1)
    save("setup", {"checkpoint": str(ckpt), "arch": arch, "images": str(folder),
                   "prompts": str(PROMPTS_PATH), "seconds": setup_s})  # fmt: skip

    def load(dev: str, precision: str):
        return load_scorer(checkpoint=str(ckpt), arch=arch, device=dev, precision=precision,
                           batch_size=args.batch_size)  # fmt: skip

    auto = load(device, "auto")
    workers = sorted({4, 8, args.workers})
    save("decode", [decode_rate(auto, folder, w) for w in workers])

    fast = timed_benchmark(auto, folder, prompts, args.batch_size, args.workers, device)
    del auto
    if cuda:
        torch.cuda.empty_cache()
    exact = timed_benchmark(load(device, "fp32"), folder, prompts, args.batch_size,
                            args.workers, device)  # fmt: skip
    subset = subset_folder(folder, out / f"subset-{cpu_per_style}", cpu_per_style)
    cpu = timed_benchmark(load("cpu", "fp32"), subset, prompts, 8, args.workers, "cpu")
    save("fidelity", {
        "auto_vs_fp32_same_device": deltas(fast["result"], exact["result"]),
        "auto_vs_cpu_fp32": deltas(fast["result"], cpu["result"]),
        "fp32_device_vs_cpu_fp32": deltas(exact["result"], cpu["result"]),
        "speed": {"auto": fast["speed"], "fp32": exact["speed"], "cpu_fp32": cpu["speed"]},
    })  # fmt: skip
    if cuda:
        torch.cuda.empty_cache()

    with tempfile.TemporaryDirectory(prefix="hps-gpu-cli-") as data:
        cold = cli_run(folder, ckpt, arch, args.batch_size, args.workers, Path(data), device)
        warm = cli_run(folder, ckpt, arch, args.batch_size, args.workers, Path(data), device)
    save("cli", {"cold_text_cache": cold, "warm_text_cache": warm})

    with tempfile.TemporaryDirectory(prefix="hps-gpu-worker-") as data:
        save("worker", worker_run(folder, ckpt, arch, args.batch_size, device, Path(data),
                                  partial=args.smoke))  # fmt: skip
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
