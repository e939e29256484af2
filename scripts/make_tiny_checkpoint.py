"""Make a tiny random-weight HPS-format checkpoint for local runs and demos.

    python scripts/make_tiny_checkpoint.py data/tiny     # writes tiny-hps.pt, tiny-hps.json

Then: HPS_CHECKPOINT=data/tiny/tiny-hps.pt HPS_ARCH=data/tiny/tiny-hps.json python app.py
"""

from __future__ import annotations

import argparse

from scorer.tiny import make_tiny_checkpoint


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", default="data/tiny")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    ckpt, cfg = make_tiny_checkpoint(args.folder, seed=args.seed)
    print(f"HPS_CHECKPOINT={ckpt}")
    print(f"HPS_ARCH={cfg}")


if __name__ == "__main__":
    main()
