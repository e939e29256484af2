"""Model forwards on ZeroGPU: each batch runs inside one ``@spaces.GPU`` call.

On a ZeroGPU Space (the ``spaces`` package's own test: ``SPACES_ZERO_GPU`` is true) the
process has no GPU of its own; a function decorated with ``spaces.GPU`` runs in a forked
process that holds one for the call's duration, its arguments and result pickled across.
So the one place every scoring path goes through, :meth:`scorer.model.HPSScorer.score_pixels`,
hands the batch to :func:`forward` here: the scorer is found by a key in a registry the fork
inherits (pickling the model is out of the question), the text embeddings it computes come
back with the scores and are kept by the caller (the fork's memory is discarded), and the
duration asked for is sized to the batch (``HPS_ZERO_GPU_BASE_S`` + n ×
``HPS_ZERO_GPU_PER_IMAGE_S``). Everywhere else, nothing changes: the ``spaces`` package is not
even imported, and ``spaces.GPU`` returns the function unchanged.

The decorated function exists from import time, as ZeroGPU requires (it lists the GPU
functions when the app launches), and the scorer is loaded before launch (``web.app.main``),
so its weights are among those ZeroGPU moves to the GPU in each call.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections.abc import Sequence

import torch

from .protocol import hps_scores

_scorers: weakref.WeakValueDictionary[int, object] = weakref.WeakValueDictionary()
_keys = itertools.count(1)


def zero_gpu() -> bool:
    """Whether this process runs on ZeroGPU, decided as the ``spaces`` package decides it
    (``spaces.config``: ``SPACES_ZERO_GPU`` in 1, t, true)."""
    value = os.environ.get("SPACES_ZERO_GPU")
    if value is None or value.lower() not in ("1", "t", "true"):
        return False
    try:
        from spaces.config import Config
    except ImportError:  # not installed: no ZeroGPU calls possible
        return False
    return bool(Config.zero_gpu)


def register(scorer) -> int:
    """A key under which a forked GPU process finds ``scorer``."""
    key = next(_keys)
    _scorers[key] = scorer
    return key


def duration_s(n_images: int, base_s: float, per_image_s: float) -> int:
    """Seconds of GPU one call asks for: a fixed part (the fork, the weights' move) and a
    part per image, whole seconds as ZeroGPU schedules them."""
    return max(1, round(base_s + per_image_s * n_images))


def batch_forward(
    key: int,
    pixels: torch.Tensor,
    prompts: Sequence[str],
    text: dict[str, torch.Tensor],
    seconds: int,
) -> tuple[list[float], dict[str, torch.Tensor]]:
    """The body of one GPU call: scores of ``pixels`` against ``prompts``, given the text
    embeddings the caller has (``text``); returns the scores and the embeddings encoded here,
    for the caller's cache. No lock and no cache is touched: in the fork, a lock some other
    thread of the caller held at fork time stays held forever."""
    del seconds  # read by the duration rule only
    scorer = _scorers.get(key)
    if scorer is None:
        raise RuntimeError(
            f"scorer #{key} was loaded after this GPU process started; on ZeroGPU every "
            "version is loaded before launch (web.app.main)"
        )
    missing = [p for p in dict.fromkeys(prompts) if p not in text]
    new = dict(zip(missing, scorer.encode_text_rows(missing))) if missing else {}
    rows = torch.stack([text[p] if p in text else new[p] for p in prompts])
    return hps_scores(scorer.encode_images(pixels), rows), new


def _decorated():
    if not zero_gpu():
        return batch_forward
    import spaces

    return spaces.GPU(batch_forward, duration=lambda key, pixels, prompts, text, seconds: seconds)


forward = _decorated()
