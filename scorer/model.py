"""The HPS scorer: a loaded model that scores images against prompts.

:func:`load_scorer` resolves the version, device and precision (:mod:`scorer.device`), loads
and checks the weights (:mod:`scorer.loading`) and hands back an :class:`HPSScorer`: image and
text embeddings, text embeddings cached per prompt, score / rank / compare. With
``lazy_text`` the text tower stays on the meta device until a prompt has to be encoded.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import open_clip
import torch
import torch.nn.functional as F

from . import gpu
from .device import DTYPES, resolve_device, resolve_precision
from .errors import ConfigError
from .loading import (
    CheckpointWeights,
    PreparedWeights,
    arch_name,
    check_finite,
    check_no_meta,
    layout_for,
    prepare,
    put,
    text_keys,
)
from .preprocess import HPS_PREPROCESS, ImageSource, PreprocessCfg, load_and_preprocess
from .protocol import hps_scores
from .zoo import file_sha256, get_version, resolve_checkpoint

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Comparison:
    score_a: float
    score_b: float
    prob_a: float  # P(A preferred over B)

    @property
    def preferred(self) -> str:
        return "A" if self.prob_a >= 0.5 else "B"


@dataclass(frozen=True)
class RankedImage:
    index: int  # position in the input
    score: float


class TextEmbeddingCache:
    """prompt -> embedding, bounded: the least recently used prompts are dropped first."""

    def __init__(self, capacity: int) -> None:
        if capacity <= 0:
            raise ConfigError(f"HPS_TEXT_CACHE_SIZE={capacity}: must be a positive integer")
        self.capacity = capacity
        self._rows: OrderedDict[str, torch.Tensor] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, prompt: str) -> torch.Tensor | None:
        with self._lock:
            row = self._rows.get(prompt)
            if row is not None:
                self._rows.move_to_end(prompt)
            return row

    def put(self, prompt: str, row: torch.Tensor) -> None:
        with self._lock:
            self._rows[prompt] = row
            self._rows.move_to_end(prompt)
            while len(self._rows) > self.capacity:
                self._rows.popitem(last=False)

    def __len__(self) -> int:
        return len(self._rows)


class HPSScorer:
    """A loaded HPS model. Thread-safe for scoring; text embeddings cached per prompt (the
    ``text_cache_size`` most recently used)."""

    def __init__(
        self,
        model: torch.nn.Module,
        tokenizer,
        *,
        version: str,
        arch: str,
        checkpoint_path: Path,
        device: torch.device,
        precision: str,
        preprocess_cfg: PreprocessCfg = HPS_PREPROCESS,
        max_image_pixels: int = 50_000_000,
        batch_size: int = 8,
        load_seconds: float = 0.0,
        text_loader: Callable[[], None] | None = None,
        text_cache_size: int = 10_000,
        zero_gpu: bool | None = None,
        zero_gpu_s: tuple[float, float] = (15.0, 0.05),
    ) -> None:
        self.model = model
        self.tokenizer = tokenizer
        self.version = version
        self.arch = arch
        self.checkpoint_path = checkpoint_path
        self.device = device
        self.precision = precision
        self.preprocess_cfg = preprocess_cfg
        self.max_image_pixels = max_image_pixels
        self.batch_size = batch_size
        self.load_seconds = load_seconds
        self._autocast = device.type == "cuda" and precision != "fp32"
        self._text_cache = TextEmbeddingCache(text_cache_size)
        self.texts_encoded = 0  # prompts run through the text tower so far
        self._lock = threading.Lock()
        # loads the text tower on first use (load_scorer(lazy_text=True)); None once loaded
        self._text_loader: Callable[[], None] | None = text_loader
        self._text_reloader = text_loader  # kept to load again after release_text_tower()
        self._text_lock = threading.Lock()
        self._sha256: str | None = None
        # exp of the learned temperature, as in the training objective
        self.logit_scale = float(model.logit_scale.detach().float().exp().item())
        # ZeroGPU (scorer.gpu): each batch's forward runs in one @spaces.GPU call, found
        # there by this key; None elsewhere. zero_gpu=None: as the spaces package detects it.
        if zero_gpu is None:
            zero_gpu = device.type == "cuda" and gpu.zero_gpu()
        self._gpu_key = gpu.register(self) if zero_gpu else None
        self.zero_gpu_s = zero_gpu_s  # (fixed, per image) seconds a call asks for

    # --- metadata -------------------------------------------------------------------
    @property
    def checkpoint_sha256(self) -> str:
        if self._sha256 is None:
            self._sha256 = file_sha256(self.checkpoint_path)
        return self._sha256

    @property
    def text_precision(self) -> str:
        """What the text embeddings are computed in: fp32 on CPU (the bf16 precision runs
        only the image tower in bf16, :mod:`scorer.bf16`), the autocast precision on CUDA."""
        return self.precision if self._autocast else "fp32"

    @property
    def text_loaded(self) -> bool:
        return self._text_loader is None

    def describe(self) -> dict:
        return {
            "version": self.version,
            "arch": self.arch,
            "checkpoint": str(self.checkpoint_path),
            "checkpoint_sha256": self.checkpoint_sha256,
            "precision": self.precision,
            "device": str(self.device),
        }

    # --- encoding -------------------------------------------------------------------
    def _ctx(self):
        if self._autocast:
            return torch.autocast(device_type="cuda", dtype=DTYPES[self.precision])
        return nullcontext()

    @torch.inference_mode()
    def encode_images(self, pixels: torch.Tensor) -> torch.Tensor:
        """[N, 3, S, S] preprocessed -> [N, D] L2-normalised fp32 embeddings (CPU)."""
        pixels = pixels.to(self.device, dtype=torch.float32, non_blocking=True)
        with self._ctx():
            feats = self.model.encode_image(pixels)
        return F.normalize(feats.float(), dim=-1).cpu()

    @torch.inference_mode()
    def encode_texts(self, prompts: Sequence[str]) -> torch.Tensor:
        """Prompts -> [N, D] L2-normalised fp32 embeddings, each distinct prompt encoded once
        (and not at all while it is in the text cache)."""
        rows: dict[str, torch.Tensor] = {}
        for prompt in dict.fromkeys(prompts):
            row = self._text_cache.get(prompt)
            if row is not None:
                rows[prompt] = row
        missing = [p for p in dict.fromkeys(prompts) if p not in rows]
        if missing and self._text_loader is not None:
            self._load_text_tower()
        for start in range(0, len(missing), 64):
            chunk = missing[start : start + 64]
            feats = self.encode_text_rows(chunk)
            self.texts_encoded += len(chunk)
            for prompt, row in zip(chunk, feats):
                rows[prompt] = row
                self._text_cache.put(prompt, row)
        return torch.stack([rows[p] for p in prompts])

    @torch.inference_mode()
    def encode_text_rows(self, prompts: Sequence[str]) -> torch.Tensor:
        """Prompts through the text tower as they are: no cache, no lock (the body of a
        ZeroGPU call runs it, :mod:`scorer.gpu`). The text tower must be loaded."""
        tokens = self.tokenizer(list(prompts)).to(self.device)
        with self._ctx():
            feats = self.model.encode_text(tokens)
        return F.normalize(feats.float(), dim=-1).cpu()

    def _load_text_tower(self) -> None:
        with self._text_lock:
            if self._text_loader is not None:
                t0 = time.perf_counter()
                self._text_loader()
                self._text_loader = None
                log.info("loaded the text tower in %.2fs", time.perf_counter() - t0)

    def release_text_tower(self) -> bool:
        """Put a text tower loaded on first need back on the meta device: its memory (over
        a GiB for ViT-H-14 at fp32, BENCHMARKS.md) is freed, and the next prompt to encode
        loads it again. For a long-lived worker between jobs. Only scorers loaded with
        ``lazy_text``; returns whether it was released."""
        with self._lock, self._text_lock:
            if self._text_reloader is None or self._text_loader is not None:
                return False
            for name in text_keys(self.model.state_dict()):
                owner, _, leaf = name.rpartition(".")
                module = self.model.get_submodule(owner) if owner else self.model
                for table in (module._parameters, module._buffers):
                    t = table.get(leaf)
                    if t is not None and not t.is_meta:
                        put(table, leaf, t, torch.empty_like(t, device="meta"))
            self._text_loader = self._text_reloader
            return True

    def set_text_embeddings(self, prompts: Sequence[str], embeddings: torch.Tensor) -> None:
        """Fill the text cache from persisted embeddings (same checkpoint and precision)."""
        for prompt, row in zip(prompts, embeddings):
            self._text_cache.put(prompt, row.float())

    def cached_text_embeddings(self, prompts: Sequence[str]) -> dict[str, torch.Tensor]:
        """The embeddings of those ``prompts`` already encoded (or set) in this scorer."""
        rows = {p: self._text_cache.get(p) for p in dict.fromkeys(prompts)}
        return {p: row for p, row in rows.items() if row is not None}

    # --- scoring --------------------------------------------------------------------
    def score_pixels(self, pixels: torch.Tensor, prompts: Sequence[str]) -> list[float]:
        """Scores of preprocessed images, each against its own prompt."""
        if len(prompts) != pixels.shape[0]:
            raise ValueError(f"{pixels.shape[0]} images but {len(prompts)} prompts")
        with self._lock:
            if self._gpu_key is not None:
                return self._score_in_gpu_call(pixels, prompts)
            text = self.encode_texts(prompts)
            img = self.encode_images(pixels)
        return hps_scores(img, text)

    def _score_in_gpu_call(self, pixels: torch.Tensor, prompts: Sequence[str]) -> list[float]:
        """One ``@spaces.GPU`` call (:mod:`scorer.gpu`) with the text embeddings this scorer
        has; those it encodes come back and are kept here (the call's memory is gone when it
        returns). Under ``self._lock``."""
        known = self.cached_text_embeddings(prompts)
        if self._text_loader is not None and len(known) < len(set(prompts)):
            self._load_text_tower()  # here, not in the call: loaded once, kept
        seconds = gpu.duration_s(len(prompts), *self.zero_gpu_s)
        scores, new = gpu.forward(self._gpu_key, pixels, list(prompts), known, seconds)
        if new:
            self.set_text_embeddings(list(new), torch.stack(list(new.values())))
            self.texts_encoded += len(new)
        return scores

    def preprocess(
        self, source: ImageSource, name: str | None = None, *, check_extension: bool = False
    ) -> torch.Tensor:
        return load_and_preprocess(
            source,
            name=name,
            max_pixels=self.max_image_pixels,
            cfg=self.preprocess_cfg,
            check_extension=check_extension,
        )

    def score(
        self,
        images: Sequence[ImageSource],
        prompt: str,
        *,
        names: Sequence[str] | None = None,
        batch_size: int | None = None,
    ) -> list[float]:
        """HPS score of each image against one prompt: 100 x cosine similarity."""
        _check_prompt(prompt)
        batch_size = batch_size or self.batch_size
        names = list(names) if names is not None else [None] * len(images)
        scores: list[float] = []
        for start in range(0, len(images), batch_size):
            chunk = images[start : start + batch_size]
            pixels = torch.stack(
                [self.preprocess(src, name) for src, name in zip(chunk, names[start:])]
            )
            scores.extend(self.score_pixels(pixels, [prompt] * len(chunk)))
        return scores

    def rank(
        self, images: Sequence[ImageSource], prompt: str, *, names: Sequence[str] | None = None
    ) -> list[RankedImage]:
        """Images sorted best first (ties keep input order)."""
        scores = self.score(images, prompt, names=names)
        order = sorted(range(len(scores)), key=lambda i: -scores[i])
        return [RankedImage(i, scores[i]) for i in order]

    def compare(
        self, image_a: ImageSource, image_b: ImageSource, prompt: str, *, names=("A", "B")
    ) -> Comparison:
        """Both scores and P(A preferred) = sigmoid(logit_scale * (cos_a - cos_b))."""
        score_a, score_b = self.score([image_a, image_b], prompt, names=list(names))
        z = self.logit_scale * (score_a - score_b) / 100.0
        return Comparison(score_a, score_b, _sigmoid(z))


def _sigmoid(z: float) -> float:
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def _check_prompt(prompt: str) -> None:
    if not isinstance(prompt, str) or not prompt.strip():
        raise ConfigError("the prompt is empty: give the text the images were generated from")


def load_scorer(
    *,
    version: str = "v2.1",
    checkpoint: str | None = None,
    arch: str | None = None,
    precision: str = "auto",
    device: str = "auto",
    batch_size: int = 8,
    max_image_pixels: int = 50_000_000,
    threads: int = 0,
    lazy_text: bool = False,
    weights_dir: str | Path | None = None,
    text_cache_size: int = 10_000,
    hub_cache: str | None = None,
    zero_gpu: bool | None = None,
    zero_gpu_s: tuple[float, float] = (15.0, 0.05),
) -> HPSScorer:
    """Resolve, load and check an HPS checkpoint. Raises HPSError subclasses on user error.

    ``weights_dir``: where the prepared (safetensors, memory-mapped) copy of the checkpoint is
    kept (:mod:`scorer.loading`); made on the first load, used by every later one. Without
    it the checkpoint itself is read and cast on every load.
    ``lazy_text``: load the text tower only when a prompt must be encoded (the benchmark and
    the worker fill the text cache from persisted embeddings first, so a warm run never
    loads it: less memory, faster ready). ``hub_cache``: where a hub download goes
    (:func:`scorer.zoo.resolve_checkpoint`). ``zero_gpu``: run each batch in a ZeroGPU call
    (:mod:`scorer.gpu`; None: on CUDA when the ``spaces`` package says ZeroGPU)."""
    t0 = time.perf_counter()
    spec = get_version(version)
    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    label = arch or spec.arch
    name = arch_name(label)
    path = resolve_checkpoint(version, checkpoint, hub_cache=hub_cache)
    layout = layout_for(dev, prec)
    prepared = None
    if weights_dir is not None:
        prepared = prepare(path, file_sha256(path), name, label, layout, Path(weights_dir))
    source = (
        PreparedWeights(prepared, name, layout)
        if prepared is not None
        else CheckpointWeights(path, name, label, layout)
    )
    model = source.build()
    every = source.keys(model)
    text = text_keys(every) if lazy_text else set()
    source.load_into(model, every - text, dev)
    check_no_meta(model, allowed=text)
    tokenizer = open_clip.get_tokenizer(name)

    def load_text() -> None:
        source.load_into(model, text, dev)
        check_no_meta(model)
        check_finite(scorer, path, [k for k in model.state_dict() if k in text], text=True)

    scorer = HPSScorer(
        model.eval().requires_grad_(False),
        tokenizer,
        version=version,
        arch=label,
        checkpoint_path=path,
        device=dev,
        precision=prec,
        max_image_pixels=max_image_pixels,
        batch_size=batch_size,
        text_loader=load_text if text else None,
        text_cache_size=text_cache_size,
        zero_gpu=zero_gpu,
        zero_gpu_s=zero_gpu_s,
    )
    loaded = [k for k, t in model.state_dict().items() if not t.is_meta]
    check_finite(scorer, path, loaded, text=not text)
    scorer.load_seconds = time.perf_counter() - t0
    log.info(
        "loaded HPS %s from %s in %.2fs (%s, %s%s)",
        version,
        prepared or path,
        scorer.load_seconds,
        dev,
        prec,
        ", text tower on first use" if text else "",
    )
    return scorer


def load_scorer_from_settings(settings, *, lazy_text: bool = False) -> HPSScorer:
    """The scorer the settings describe; its prepared weights live in ``<data_dir>/weights``."""
    return load_scorer(
        version=settings.version,
        checkpoint=settings.checkpoint,
        arch=settings.arch,
        precision=settings.precision,
        device=settings.device,
        batch_size=settings.batch_size,
        max_image_pixels=settings.max_image_pixels,
        threads=settings.threads,
        lazy_text=lazy_text,
        weights_dir=settings.data_path / "weights",
        text_cache_size=settings.text_cache_size,
        hub_cache=settings.hub_cache,
        zero_gpu_s=(settings.zero_gpu_base_s, settings.zero_gpu_per_image_s),
    )
