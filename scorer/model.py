"""Loading an HPS checkpoint into open_clip, fast, and scoring with it.

Loading: the architecture is built on the meta device (no random init, no memory), the
checkpoint is memory-mapped (``torch.load(mmap=True, weights_only=True)``), its entries
checked against the model's (a strict load) and assigned (``assign=True``), then cast: fp32
everywhere, except on CPU at bf16, where the image tower's blocks run bf16 matmuls over an
fp32 residual stream (:mod:`scorer.bf16`). The text tower's causal ``attn_mask`` is a
non-persistent buffer, absent from the checkpoint: it is rebuilt, else text features would
silently come out NaN. A pass over the weights and one prompt through the text tower check
that the loaded model gives finite outputs. With ``lazy_text`` the text tower stays on the
meta device until a prompt has to be encoded.
"""

from __future__ import annotations

import ctypes
import json
import logging
import math
import mmap
import os
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from . import gpu
from .bf16 import Bf16Block, checkpoint_name, convert_image_tower
from .errors import CheckpointError, ConfigError
from .preprocess import HPS_PREPROCESS, ImageSource, PreprocessCfg, load_and_preprocess
from .zoo import file_sha256, get_version, resolve_checkpoint

log = logging.getLogger(__name__)

_DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


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


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError:
        raise ConfigError(
            f"HPS_DEVICE={device!r}: not a torch device (auto, cpu, cuda, cuda:N)"
        ) from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ConfigError(f"HPS_DEVICE={device!r}: CUDA is not available on this machine")
    return dev


def cpu_has_fast_bf16() -> bool:
    """AVX512-BF16 or AMX: bf16 matmuls run 2.4-2.7x as fast as fp32 (BENCHMARKS.md). Without
    them oneDNN emulates bf16 and gains nothing over fp32."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except (AttributeError, RuntimeError):
        return False


def resolve_precision(precision: str, device: torch.device) -> str:
    """``auto``: fp16 autocast on CUDA (as the official evaluation); on CPU bf16 where the CPU
    has native bf16 matmuls (:mod:`scorer.bf16`: within the fidelity bar of fp32), else fp32."""
    if precision == "auto":
        if device.type == "cuda":
            return "fp16"
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    if precision not in _DTYPES:
        raise ConfigError(f"unknown precision {precision!r}; choose auto, fp32, bf16 or fp16")
    if precision == "fp16" and device.type != "cuda":
        raise ConfigError(
            "precision fp16 runs only on CUDA (CPUs have no fast fp16 matmul: it is 4-5x slower "
            "than fp32 here); on CPU choose fp32 or bf16"
        )
    return precision


def _arch_name(arch: str) -> str:
    """Register a model-config JSON with open_clip and return its name; names pass through."""
    import open_clip

    path = Path(arch).expanduser()
    if arch.endswith(".json") or path.is_file():
        if not path.is_file():
            raise ConfigError(f"HPS_ARCH / --arch: model-config file {arch!r} does not exist")
        try:
            cfg = json.loads(path.read_text())
        except ValueError as exc:
            raise ConfigError(f"HPS_ARCH / --arch: {arch!r} is not valid JSON ({exc})") from None
        if not isinstance(cfg, dict) or not {"embed_dim", "vision_cfg", "text_cfg"} <= set(cfg):
            raise ConfigError(
                f"HPS_ARCH / --arch: {arch!r} is not an open_clip model config "
                "(needs embed_dim, vision_cfg, text_cfg)"
            )
        open_clip.add_model_config(path)
        return path.stem
    if arch not in open_clip.list_models():
        raise ConfigError(
            f"HPS_ARCH / --arch: unknown open_clip model {arch!r}; give a model-config JSON path "
            f"or one of: {', '.join(open_clip.list_models())}"
        )
    return arch


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    try:
        ckpt = torch.load(path, map_location="cpu", mmap=True, weights_only=True)
    except Exception as exc:
        raise CheckpointError(
            f"checkpoint {str(path)!r} cannot be read as a torch checkpoint "
            f"({type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''})"
        ) from exc
    state = ckpt.get("state_dict", ckpt) if isinstance(ckpt, dict) else None
    if not isinstance(state, dict) or not state:
        raise CheckpointError(
            f"checkpoint {str(path)!r} holds no state dict (expected {{'state_dict': ...}})"
        )
    if all(k.startswith("module.") for k in state):
        state = {k[len("module.") :]: v for k, v in state.items()}
    return state


def _file_map_ranges(path: Path) -> list[tuple[int, int]]:
    """Address ranges where this process maps ``path`` (Linux ``/proc/self/maps``); [] where
    that cannot be read."""
    try:
        target = os.path.realpath(path)
        ranges = []
        with open("/proc/self/maps", encoding="utf-8", errors="replace") as fh:
            for line in fh:
                parts = line.split(maxsplit=5)
                if len(parts) == 6 and parts[5].rstrip("\n") == target:
                    lo, hi = parts[0].split("-")
                    ranges.append((int(lo, 16), int(hi, 16)))
        return ranges
    except (OSError, ValueError):
        return []


def _madvise():
    try:
        return ctypes.CDLL(None, use_errno=True).madvise
    except (OSError, AttributeError):
        return None


_MADV_DONTNEED = 4


def _release_file_pages(t: torch.Tensor, mapped: Sequence[tuple[int, int]]) -> None:
    """Drop the resident pages of ``t`` that lie wholly inside the checkpoint's private file
    map (``MADV_DONTNEED``), once ``t`` has been cast to a new tensor: they stop counting in
    the process's memory, and if read again they come back from the file unchanged (never
    written: in-place casts are not released). No-op outside such a map."""
    start, end = t.data_ptr(), t.data_ptr() + t.nbytes
    if not any(lo <= start and end <= hi for lo, hi in mapped):
        return
    madvise = _madvise()
    page = mmap.PAGESIZE
    first, last = -(-start // page) * page, end // page * page
    if madvise is not None and last > first:
        madvise(ctypes.c_void_p(first), ctypes.c_size_t(last - first), _MADV_DONTNEED)


def _rebuild_missing_buffers(model: torch.nn.Module) -> None:
    """Rebuild non-persistent buffers left on the meta device (the causal text mask)."""
    for module in model.modules():
        for name, buf in list(module._buffers.items()):
            if buf is None or not buf.is_meta:
                continue
            if name != "attn_mask" or buf.ndim != 2 or buf.shape[0] != buf.shape[1]:
                raise CheckpointError(f"checkpoint lacks buffer {name!r} {tuple(buf.shape)}")
            mask = torch.full(tuple(buf.shape), float("-inf")).triu_(1)
            module._buffers[name] = mask


def _check_no_meta(model: torch.nn.Module, allowed: set[str] = frozenset()) -> None:
    leftovers = [n for n, p in model.named_parameters() if p.is_meta and n not in allowed]
    if leftovers:
        raise CheckpointError(f"checkpoint lacks parameters: {', '.join(leftovers[:5])}")


def _put(table: dict, name: str, old: torch.Tensor, new: torch.Tensor) -> None:
    """Store ``new`` in a module's parameter or buffer ``table`` in place of ``old``,
    as a frozen Parameter where ``old`` was one."""
    is_param = isinstance(old, torch.nn.Parameter)
    table[name] = torch.nn.Parameter(new, requires_grad=False) if is_param else new


def _cast_weights(
    model: torch.nn.Module, dtype: torch.dtype, mapped: Sequence[tuple[int, int]] = ()
) -> None:
    """Cast the floating parameters and buffers not yet in ``dtype`` (meta tensors, a text
    tower not loaded yet, and the bf16 blocks of :mod:`scorer.bf16` excepted). Each source
    in the checkpoint map (``mapped``) has its pages released once cast, so a cast to fp32
    holds the fp32 copy, not also the fp16 file."""
    for module in model.modules():
        if isinstance(module, Bf16Block):  # its own tensors are bf16 by design
            continue
        for table in (module._parameters, module._buffers):
            for name, t in list(table.items()):
                if t is None or t.is_meta or not t.is_floating_point() or t.dtype == dtype:
                    continue
                new = t.detach().to(dtype)
                _release_file_pages(t, mapped)
                _put(table, name, t, new)


def _to_device(model: torch.nn.Module, dev: torch.device) -> None:
    """``model.to(dev)`` that leaves meta tensors (a text tower not loaded yet) alone."""
    for module in model.modules():
        for table in (module._parameters, module._buffers):
            for name, t in list(table.items()):
                if t is None or t.is_meta or t.device == dev:
                    continue
                _put(table, name, t, t.detach().to(dev))


def _text_keys(names) -> set[str]:
    """The text tower's entries of a CLIP state dict: all but the image tower's and the
    learned temperature (``logit_scale``, ``logit_bias``)."""
    return {
        k for k in names if not k.startswith("visual.") and k not in ("logit_scale", "logit_bias")
    }


class HPSScorer:
    """A loaded HPS model. Thread-safe for scoring; text embeddings cached per prompt."""

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
        self._text_cache: dict[str, torch.Tensor] = {}
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
            return torch.autocast(device_type="cuda", dtype=_DTYPES[self.precision])
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
        """Prompts -> [N, D] L2-normalised fp32 embeddings, each distinct prompt encoded once."""
        missing = list(dict.fromkeys(p for p in prompts if p not in self._text_cache))
        if missing and self._text_loader is not None:
            self._load_text_tower()
        for start in range(0, len(missing), 64):
            chunk = missing[start : start + 64]
            tokens = self.tokenizer(chunk).to(self.device)
            with self._ctx():
                feats = self.model.encode_text(tokens)
            feats = F.normalize(feats.float(), dim=-1).cpu()
            for prompt, row in zip(chunk, feats):
                self._text_cache[prompt] = row
        return torch.stack([self._text_cache[p] for p in prompts])

    def _load_text_tower(self) -> None:
        with self._text_lock:
            if self._text_loader is not None:
                t0 = time.perf_counter()
                self._text_loader()
                self._text_loader = None
                log.info("loaded the text tower in %.2fs", time.perf_counter() - t0)

    def release_text_tower(self) -> bool:
        """Put a text tower loaded on first need back on the meta device: its memory (1.4 GB
        for ViT-H-14 at fp32) is freed, and the next prompt to encode loads it again. For a
        long-lived worker between jobs. Only scorers loaded with ``lazy_text``; returns
        whether it was released."""
        with self._lock, self._text_lock:
            if self._text_reloader is None or self._text_loader is not None:
                return False
            for name in _text_keys(self.model.state_dict()):
                owner, _, leaf = name.rpartition(".")
                module = self.model.get_submodule(owner) if owner else self.model
                for table in (module._parameters, module._buffers):
                    t = table.get(leaf)
                    if t is not None and not t.is_meta:
                        _put(table, leaf, t, torch.empty_like(t, device="meta"))
            self._text_loader = self._text_reloader
            return True

    def set_text_embeddings(self, prompts: Sequence[str], embeddings: torch.Tensor) -> None:
        """Fill the text cache from persisted embeddings (same checkpoint and precision)."""
        for prompt, row in zip(prompts, embeddings):
            self._text_cache[prompt] = row.float()

    def cached_text_embeddings(self, prompts: Sequence[str]) -> dict[str, torch.Tensor]:
        """The embeddings of those ``prompts`` already encoded (or set) in this scorer."""
        return {p: self._text_cache[p] for p in dict.fromkeys(prompts) if p in self._text_cache}

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
        return (100.0 * (img * text).sum(dim=-1)).tolist()

    def _score_in_gpu_call(self, pixels: torch.Tensor, prompts: Sequence[str]) -> list[float]:
        """One ``@spaces.GPU`` call (:mod:`scorer.gpu`); its text embeddings are kept here,
        as the call's own memory is gone when it returns. Under ``self._lock``."""
        if self._text_loader is not None and any(p not in self._text_cache for p in prompts):
            self._load_text_tower()  # here, not in the call: loaded once, kept
        seconds = gpu.duration_s(len(prompts), *self.zero_gpu_s)
        scores, text = gpu.forward(self._gpu_key, pixels, list(prompts), seconds)
        if text:
            self.set_text_embeddings(list(text), torch.stack(list(text.values())))
        return scores

    def preprocess(self, source: ImageSource, name: str | None = None) -> torch.Tensor:
        return load_and_preprocess(
            source, name=name, max_pixels=self.max_image_pixels, cfg=self.preprocess_cfg
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
    hub_cache: str | None = None,
    zero_gpu: bool | None = None,
    zero_gpu_s: tuple[float, float] = (15.0, 0.05),
) -> HPSScorer:
    """Resolve, load and check an HPS checkpoint. Raises HPSError subclasses on user error.

    ``lazy_text``: load the text tower only when a prompt must be encoded (the benchmark and
    the worker fill the text cache from persisted embeddings first, so a warm run never
    loads it: less memory, faster ready). ``hub_cache``: where a hub download goes
    (:func:`scorer.zoo.resolve_checkpoint`). ``zero_gpu``: run each batch in a ZeroGPU call
    (:mod:`scorer.gpu`; None: on CUDA when the ``spaces`` package says ZeroGPU)."""
    import open_clip

    t0 = time.perf_counter()
    spec = get_version(version)
    if threads:
        torch.set_num_threads(threads)
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    name = _arch_name(arch or spec.arch)
    label = arch or spec.arch
    path = resolve_checkpoint(version, checkpoint, hub_cache=hub_cache)
    state = _read_state_dict(path)

    logging.disable(logging.WARNING)  # open_clip warns "initialized randomly": not so here
    try:
        with torch.device("meta"):
            model = open_clip.create_model(name, pretrained=None, device="meta")
    finally:
        logging.disable(logging.NOTSET)
    _check_keys(model, state, path, label)
    text_keys = _text_keys(state) if lazy_text else set()
    _materialise(model, {k: v for k, v in state.items() if k not in text_keys}, path, dev, prec)
    del state
    _check_no_meta(model, allowed=text_keys)

    tokenizer = open_clip.get_tokenizer(name)

    def load_text() -> None:
        text_state = _read_state_dict(path)
        _materialise(model, {k: text_state[k] for k in text_keys}, path, dev, prec)
        del text_state
        _check_no_meta(model)
        _check_finite(scorer, path, [k for k in model.state_dict() if k in text_keys], text=True)

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
        text_loader=load_text if text_keys else None,
        zero_gpu=zero_gpu,
        zero_gpu_s=zero_gpu_s,
    )
    loaded = [k for k, t in model.state_dict().items() if not t.is_meta]
    _check_finite(scorer, path, loaded, text=not text_keys)
    scorer.load_seconds = time.perf_counter() - t0
    log.info(
        "loaded HPS %s from %s in %.2fs (%s, %s%s)",
        version,
        path,
        scorer.load_seconds,
        dev,
        prec,
        ", text tower on first use" if text_keys else "",
    )
    return scorer


def _check_keys(model: torch.nn.Module, state: dict, path: Path, label: str) -> None:
    """The checkpoint holds exactly the model's entries (a strict load, before any is read)."""
    expected = model.state_dict()
    missing = [k for k in expected if k not in state]
    unexpected = [k for k in state if k not in expected]
    wrong = [
        f"{k}: {tuple(state[k].shape)} in the checkpoint, {tuple(expected[k].shape)} in the model"
        for k in expected
        if k in state and tuple(state[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing[:5])}")
        if unexpected:
            parts.append(f"unexpected {', '.join(unexpected[:5])}")
        if wrong:
            parts.append(f"size mismatch {'; '.join(wrong[:3])}")
        raise CheckpointError(
            f"checkpoint {str(path)!r} does not fit architecture {label!r}: {'; '.join(parts)}"
        )


def _materialise(
    model: torch.nn.Module, state: dict, path: Path, dev: torch.device, prec: str
) -> None:
    """Assign ``state`` (memory-mapped) to the meta-built ``model`` and cast it: on CPU at
    bf16 the image blocks become :class:`scorer.bf16.Bf16Block`; everything else is fp32
    (CUDA low precision runs as autocast over fp32 weights)."""
    mapped = _file_map_ranges(path)
    model.load_state_dict(state, strict=False, assign=True)
    _rebuild_missing_buffers(model)
    if dev.type == "cpu" and prec == "bf16" and any(k.startswith("visual.") for k in state):
        convert_image_tower(model, release=lambda t: _release_file_pages(t, mapped))
    _cast_weights(model, torch.float32, mapped)
    _to_device(model, dev)


def load_scorer_from_settings(settings, *, lazy_text: bool = False) -> HPSScorer:
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
        hub_cache=settings.hub_cache,
        zero_gpu_s=(settings.zero_gpu_base_s, settings.zero_gpu_per_image_s),
    )


def _check_finite(scorer: HPSScorer, path: Path, names: Sequence[str], *, text: bool) -> None:
    """Finite outputs after loading, cheaply: one pass over the weights ``names`` (a sum per
    tensor: non-finite if any element is; ~0.15 s for ViT-H-14, where a probe image forward
    costs ~2 s on CPU) and, with ``text``, one prompt through the text tower (where a missing
    causal ``attn_mask`` shows as NaN). A non-finite sum is confirmed element-wise."""
    probe = None
    if text:
        tokens = scorer.tokenizer(["a photo"]).to(scorer.device)
        with torch.inference_mode(), scorer._ctx():
            probe = scorer.model.encode_text(tokens).float()
    state = scorer.model.state_dict()
    named = [(n, state[n]) for n in names if state[n].is_floating_point()]
    with torch.inference_mode():
        sums = torch.stack([t.sum().float() for _, t in named]) if named else torch.zeros(1)
        bad = (
            []
            if torch.isfinite(sums).all()
            else [n for n, t in named if not torch.isfinite(t).all()]
        )
    bad = list(dict.fromkeys(checkpoint_name(scorer.model, n) for n in bad))
    if bad or (probe is not None and not torch.isfinite(probe).all()):
        where = f" (in {', '.join(bad[:3])})" if bad else ""
        raise CheckpointError(
            f"checkpoint {str(path)!r} gives non-finite features after loading{where} "
            "(corrupt weights, or a buffer missing from the checkpoint)"
        )
