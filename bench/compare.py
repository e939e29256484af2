"""One command: the official hpsv2 1.2.0 evaluation vs ours, same checkpoint, same images.

    .venv/bin/python bench/compare.py --per-style 12

Makes what is missing (the random ViT-H-14 checkpoint, the image folder; the official venv
must exist: ``bash bench/setup_official.sh``), warms the checkpoint file in the page cache,
then runs, each as its own process, one after the other:

1. the official package (``bench/official_run.py`` in ``bench/.venv-official``);
2. for each precision: our load alone (``bench/ours_ready.py --lazy-text``: time to a model
   ready for images, loaded as the benchmark command loads it), then
   ``python -m scorer benchmark DIR --checkpoint ... --arch ViT-H-14 --prompts ...
   --precision P --batch-size B --json OUT`` with an empty data dir (cold: no persisted
   text embeddings), and with ``--warm`` once more in the same data dir (warm text cache).

Per process it measures whole-process wall time and peak RSS (``os.wait4`` rusage of that
child alone); per-image time = (wall - time to ready) / images. Scores are compared per
image against the official run and against our fp32 run; style means use the official
statistics (chunks of 80 in prompt order) on the images present. Writes
``<out>/compare.md`` (Markdown tables) and ``<out>/compare.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
OUR_PY = ROOT / ".venv" / "bin" / "python"
OFFICIAL_PY = HERE / ".venv-official" / "bin" / "python"
STYLES = ("anime", "concept-art", "paintings", "photo")
DEFAULT_PROMPTS = Path("/work/shared/data/hps_benchmark_prompts.json")


def run_process(cmd: list[str], log: Path, env: dict | None = None) -> dict:
    """Run ``cmd`` to completion; wall seconds and the peak RSS of that child alone."""
    load_before = os.getloadavg()[0]
    with open(log.with_suffix(".out"), "w") as out, open(log.with_suffix(".err"), "w") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = log.with_suffix(".err").read_text()[-3000:]
        raise SystemExit(f"failed ({proc.returncode}): {shlex.join(cmd)}\n{tail}")
    return {
        "cmd": shlex.join(cmd),
        "wall_s": wall,
        "maxrss_mib": usage.ru_maxrss / 1024,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "loadavg_before": load_before,
        "loadavg_after": os.getloadavg()[0],
    }


def warm_file(path: Path) -> None:
    with open(path, "rb") as fh:
        while fh.read(1 << 24):
            pass


def chunk_stats(values: list[float | None]) -> float | None:
    """Official style mean over the images present: mean of means of chunks of 80."""
    present = [v for v in values if v is not None]
    means = [
        math.fsum(present[i : i + 80]) / len(present[i : i + 80])
        for i in range(0, len(present), 80)
    ]
    return math.fsum(means) / len(means) if means else None


def score_deltas(a: dict, b: dict) -> dict:
    """Per-image |a - b| over images scored in both, and the change of each style mean."""
    diffs = []
    style_moves = {}
    for style in STYLES:
        sa, sb = a.get(style, []), b.get(style, [])
        for x, y in zip(sa, sb):
            if x is not None and y is not None:
                diffs.append(abs(x - y))
        ma, mb = chunk_stats(sa), chunk_stats(sb)
        style_moves[style] = None if ma is None or mb is None else ma - mb
    moves = [abs(v) for v in style_moves.values() if v is not None]
    return {
        "n": len(diffs),
        "max_abs": max(diffs) if diffs else None,
        "mean_abs": math.fsum(diffs) / len(diffs) if diffs else None,
        "style_mean_moves": style_moves,
        "max_style_move": max(moves) if moves else None,
    }


def count_present(scores: dict) -> int:
    return sum(1 for style in STYLES for v in scores.get(style, []) if v is not None)


def fmt(value, spec: str = ".2f") -> str:
    return "-" if value is None else format(value, spec)


def markdown(results: dict) -> str:
    off = results["official"]
    lines = [
        f"Images: {results['n_images']} ({results['per_style']} per style), checkpoint "
        f"`{results['checkpoint']}` (random ViT-H-14, fp16 tensors), CPU threads "
        f"{results['threads']}, batch size ours {results['batch_size']}, official 20.",
        "",
        "| run | whole wall s | CPU s | ready s | per-image s | images/s (whole) "
        "| x official (whole) | x official (per-image) | peak RSS MiB | RSS / official "
        "| loadavg before/after |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        ratio_whole = off["wall_s"] / run["wall_s"]
        ratio_img = off["per_image_s"] / run["per_image_s"] if run["per_image_s"] else None
        lines.append(
            f"| {run['name']} | {run['wall_s']:.1f} | {run['cpu_s']:.0f} | {fmt(run['ready_s'])} "
            f"| {fmt(run['per_image_s'])} | {run['n_images'] / run['wall_s']:.3f} "
            f"| {ratio_whole:.2f} | {fmt(ratio_img)} | {run['maxrss_mib']:.0f} "
            f"| {run['maxrss_mib'] / off['maxrss_mib']:.2f} "
            f"| {run['loadavg_before']:.1f}/{run['loadavg_after']:.1f} |"
        )
    lines += [
        "",
        "| run | max abs delta vs official | mean abs delta vs official | max abs delta vs "
        "our fp32 | mean abs delta vs our fp32 | max style-mean move vs our fp32 |",
        "|---|---|---|---|---|---|",
    ]
    for run in results["runs"]:
        vo, vf = run.get("vs_official") or {}, run.get("vs_fp32") or {}
        lines.append(
            f"| {run['name']} | {fmt(vo.get('max_abs'), '.3g')} "
            f"| {fmt(vo.get('mean_abs'), '.3g')} | {fmt(vf.get('max_abs'), '.3g')} "
            f"| {fmt(vf.get('mean_abs'), '.3g')} | {fmt(vf.get('max_style_move'), '.3g')} |"
        )
    lines += ["", "| style | " + " | ".join(r["name"] for r in results["runs"]) + " |"]
    lines.append("|---|" + "---|" * len(results["runs"]))
    for style in STYLES:
        cells = [fmt(r["style_means"].get(style), ".4f") for r in results["runs"]]
        lines.append(f"| {style} | " + " | ".join(cells) + " |")
    lines += ["", "Ready times of ours (separate load-only process):", ""]
    for name, ready in results["ready"].items():
        lines.append(
            f"- {name}: import {ready['import_s']:.2f} s + load_scorer {ready['load_s']:.2f} s "
            f"= {ready['ready_s']:.2f} s from script start; peak RSS {ready['maxrss_mib']:.0f} "
            "MiB"
        )
    lines += ["", "Commands:", ""] + [f"    {r['cmd']}" for r in results["runs"]]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-style", type=int, default=12)
    parser.add_argument("--images", type=Path, default=None)
    parser.add_argument("--checkpoint", type=Path, default=HERE / "work" / "ViT-H-14-random.pt")
    parser.add_argument("--prompts", type=Path, default=DEFAULT_PROMPTS)
    parser.add_argument("--precisions", default="fp32,bf16")
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--threads", type=int, default=0, help="HPS_THREADS for ours")
    parser.add_argument("--warm", action="store_true", help="also rerun with warm text cache")
    parser.add_argument(
        "--skip-official",
        type=Path,
        default=None,
        help="reuse this official result JSON instead of running it",
    )
    parser.add_argument("--out", type=Path, default=HERE / "work" / "results")
    args = parser.parse_args()

    images = args.images or HERE / "work" / f"images-{args.per_style}"
    args.out.mkdir(parents=True, exist_ok=True)
    if not args.checkpoint.is_file():
        subprocess.run(
            [str(OUR_PY), str(HERE / "make_checkpoint.py"), "--out", str(args.checkpoint)],
            check=True,
        )
    subprocess.run(
        [
            str(OUR_PY),
            str(HERE / "make_images.py"),
            str(images),
            "--per-style",
            str(args.per_style),
        ],
        check=True,
    )
    if not OFFICIAL_PY.is_file() and args.skip_official is None:
        raise SystemExit("official venv missing: run bash bench/setup_official.sh")
    warm_file(args.checkpoint)

    env = dict(os.environ, HF_HUB_OFFLINE="1")
    if args.threads:
        env["HPS_THREADS"] = str(args.threads)
    results: dict = {
        "per_style": args.per_style,
        "checkpoint": str(args.checkpoint),
        "batch_size": args.batch_size,
        "runs": [],
        "ready": {},
    }

    # 1. official
    if args.skip_official:
        official = json.loads(args.skip_official.read_text())
        proc = official["process"]
    else:
        off_json = args.out / "official.json"
        proc = run_process(
            [
                str(OFFICIAL_PY),
                str(HERE / "official_run.py"),
                str(images),
                "--checkpoint",
                str(args.checkpoint),
                "--prompts",
                str(args.prompts),
                "--json",
                str(off_json),
            ],
            args.out / "official",
            env=env,
        )
        official = json.loads(off_json.read_text())
        official["process"] = proc
        off_json.write_text(json.dumps(official))
    n_off = count_present(official["scores"])
    results["n_images"] = n_off
    results["threads"] = official.get("threads")
    off_run = {
        "name": "official hpsv2 1.2.0 (fp32)",
        **proc,
        "ready_s": official["ready_s"],
        "n_images": n_off,
        "scores": official["scores"],
    }
    off_run["per_image_s"] = (proc["wall_s"] - official["ready_s"]) / n_off
    results["official"] = off_run
    results["runs"].append(off_run)
    print(f"official: {proc['wall_s']:.1f}s, {proc['maxrss_mib']:.0f} MiB", flush=True)

    # 2. ours
    auto = subprocess.run(
        [
            str(OUR_PY),
            "-c",
            "import torch; from scorer.device import resolve_precision; "
            "print(resolve_precision('auto', torch.device('cpu')))",
        ],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
    ).stdout.strip()
    results["default_precision"] = auto
    fp32_scores = None
    for precision in args.precisions.split(","):
        ready_proc = run_process(
            [
                str(OUR_PY),
                str(HERE / "ours_ready.py"),
                "--checkpoint",
                str(args.checkpoint),
                "--arch",
                "ViT-H-14",
                "--precision",
                precision,
                "--lazy-text",  # as `python -m scorer benchmark` loads
            ],
            args.out / f"ready-{precision}",
            env=env,
        )
        ready = json.loads(args.out.joinpath(f"ready-{precision}.out").read_text())
        ready["wall_s"] = ready_proc["wall_s"]
        results["ready"][f"ours {precision}"] = ready
        with tempfile.TemporaryDirectory(prefix="hps-bench-") as data_dir:
            passes = ["cold text cache", "warm text cache"] if args.warm else ["cold text cache"]
            for label in passes:
                out_json = args.out / f"ours-{precision}-{label.split()[0]}.json"
                run_env = dict(env, HPS_DATA_DIR=data_dir)
                proc = run_process(
                    [
                        str(OUR_PY),
                        "-m",
                        "scorer",
                        "benchmark",
                        str(images),
                        "--checkpoint",
                        str(args.checkpoint),
                        "--arch",
                        "ViT-H-14",
                        "--prompts",
                        str(args.prompts),
                        "--precision",
                        precision,
                        "--batch-size",
                        str(args.batch_size),
                        "--json",
                        str(out_json),
                    ],
                    out_json.with_suffix(""),
                    env=run_env,
                )
                ours = json.loads(out_json.read_text())
                n = count_present(ours["scores"])
                run = {
                    "name": f"ours {precision}{' = default' if precision == auto else ''} "
                    f"({label})",
                    **proc,
                    "n_images": n,
                    "ready_s": ready["ready_s"],
                    "scores": ours["scores"],
                    "per_image_s": (proc["wall_s"] - ready["ready_s"]) / n,
                }
                if precision == "fp32" and fp32_scores is None:
                    fp32_scores = ours["scores"]
                results["runs"].append(run)
                print(
                    f"{run['name']}: {proc['wall_s']:.1f}s, {proc['maxrss_mib']:.0f} MiB",
                    flush=True,
                )

    for run in results["runs"]:
        run["style_means"] = {s: chunk_stats(run["scores"].get(s, [])) for s in STYLES}
        if run is not off_run:
            run["vs_official"] = score_deltas(run["scores"], official["scores"])
        if fp32_scores is not None:
            run["vs_fp32"] = score_deltas(run["scores"], fp32_scores)

    text = markdown(results)
    (args.out / "compare.md").write_text(text)
    for run in results["runs"]:
        run.pop("scores")
    (args.out / "compare.json").write_text(json.dumps(results, indent=2))
    print(text)


if __name__ == "__main__":
    main()
