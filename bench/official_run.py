"""Score a benchmark folder with the official ``hpsv2`` 1.2.0 package, faithfully.

Runs in the official package's own venv (``bash bench/setup_official.sh``):

    bench/.venv-official/bin/python bench/official_run.py IMAGES --checkpoint CKPT \
        --prompts PROMPTS.json --json OUT.json

It follows ``hpsv2.evaluation.evaluate(mode='benchmark', ...)`` line by line, using the
package's own functions and objects:

* ``hpsv2.evaluation.initialize_model()``, i.e. ``create_model_and_transforms('ViT-H-14',
  None, precision='amp', device=..., jit=False, force_quick_gelu=False, ...,
  light_augmentation=True, aug_cfg={}, output_dict=True, with_score_predictor=False,
  with_region_predictor=False)``: the evaluation code itself passes ``pretrained=None``, so
  nothing is downloaded there;
* ``torch.load(checkpoint, map_location=device)``, ``model.load_state_dict(ckpt['state_dict'])``,
  ``get_tokenizer('ViT-H-14')``, ``model.to(device)``, ``model.eval()``;
* the loop of ``evaluate_benchmark``: ``BenchmarkDataset`` (``Image.open`` + ``preprocess_val``
  + tokenizer per item), ``DataLoader(batch_size=20, shuffle=False, collate_fn=collate_eval)``,
  ``torch.no_grad()``, ``torch.cuda.amp.autocast()`` (a no-op on CPU), ``model(images, texts)``,
  ``diag(image_features @ text_features.T * 100)``.

Differences, all outside the scoring: the checkpoint path is given (``evaluate`` would
download it from the hub when none is given); the per-style prompt files are written from the
combined prompts JSON to a temporary ``data_path``; the per-image scores are kept (the
official function only prints the table), and the ``missing image for prompt`` lines that
``BenchmarkDataset`` prints for each absent index are silenced. Timings are taken around the
same steps.
"""

from __future__ import annotations

import time

T_START = time.perf_counter()  # before the heavy imports: "process start" as near as we can

import argparse  # noqa: E402
import contextlib  # noqa: E402
import io  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import resource  # noqa: E402
import tempfile  # noqa: E402
import warnings  # noqa: E402

STYLES = ("anime", "concept-art", "paintings", "photo")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("images", help="benchmark folder with anime/ concept-art/ ...")
    parser.add_argument("--checkpoint", required=True)
    parser.add_argument("--prompts", required=True, help="combined {style: [prompts]} JSON")
    parser.add_argument("--batch-size", type=int, default=20)
    parser.add_argument("--json", required=True, help="where to write per-image scores")
    args = parser.parse_args()

    warnings.filterwarnings("ignore")  # torch.cuda.amp.autocast deprecation, timm, ...
    import numpy as np
    import torch
    from hpsv2 import evaluation as ev
    from torch.utils.data import DataLoader

    t_imported = time.perf_counter()

    # --- evaluate(): model ------------------------------------------------------------
    ev.initialize_model()
    model = ev.model_dict["model"]
    preprocess_val = ev.model_dict["preprocess_val"]
    device = ev.device
    checkpoint = torch.load(args.checkpoint, map_location=device)
    model.load_state_dict(checkpoint["state_dict"])
    tokenizer = ev.get_tokenizer(ev.model_name)
    model = model.to(device)
    model.eval()
    t_ready = time.perf_counter()

    # --- evaluate_benchmark(): per-style folders, as the official loop -----------------
    with open(args.prompts, encoding="utf-8") as fh:
        prompts = json.load(fh)
    scores: dict[str, list[float | None]] = {}
    n_images = 0
    with tempfile.TemporaryDirectory() as meta_dir:
        for style in STYLES:
            with open(os.path.join(meta_dir, f"{style}.json"), "w", encoding="utf-8") as fh:
                json.dump(prompts[style], fh)
        for style in os.listdir(args.images):
            image_folder = os.path.join(args.images, style)
            meta_file = os.path.join(meta_dir, f"{style}.json")
            with contextlib.redirect_stdout(io.StringIO()):
                dataset = ev.BenchmarkDataset(meta_file, image_folder, preprocess_val, tokenizer)
            dataloader = DataLoader(
                dataset, batch_size=args.batch_size, shuffle=False, collate_fn=ev.collate_eval
            )
            res: list[float] = []
            with torch.no_grad():
                for images, texts in dataloader:
                    images = images.to(device=device, non_blocking=True)
                    texts = texts.to(device=device, non_blocking=True)
                    with torch.cuda.amp.autocast():
                        outputs = model(images, texts)
                        image_features = outputs["image_features"]
                        text_features = outputs["text_features"]
                        logits_per_image = image_features @ text_features.T * 100
                    res.extend(torch.diagonal(logits_per_image).cpu().tolist())
            # map back to prompt indices (BenchmarkDataset keeps present files in order)
            by_index = {int(os.path.basename(f)[:5]): s for f, s in zip(dataset.files, res)}
            scores[style] = [by_index.get(i) for i in range(len(prompts[style]))]
            n_images += len(res)
    t_done = time.perf_counter()

    styles = {}
    for style, values in scores.items():
        res = [s for s in values if s is not None]
        chunk_means = [np.mean(res[i : i + 80]) for i in range(0, len(res), 80)]
        styles[style] = {
            "mean": float(np.mean(chunk_means)),
            "std": float(np.std(chunk_means)),
            "n": len(res),
        }
    out = {
        "implementation": "hpsv2 1.2.0 (official)",
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "device": str(device),
        "batch_size": args.batch_size,
        "n_images": n_images,
        "import_s": t_imported - T_START,
        "load_s": t_ready - t_imported,
        "ready_s": t_ready - T_START,
        "score_s": t_done - t_ready,
        "per_image_s": (t_done - t_ready) / max(n_images, 1),
        "maxrss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "styles": styles,
        "scores": scores,
    }
    with open(args.json, "w", encoding="utf-8") as fh:
        json.dump(out, fh)
    print(
        f"official: {n_images} images, ready {out['ready_s']:.1f}s, "
        f"{out['per_image_s']:.2f}s/image, peak RSS {out['maxrss_mib']:.0f} MiB"
    )


if __name__ == "__main__":
    main()
