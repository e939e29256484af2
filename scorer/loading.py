"""Loading an HPS checkpoint into open_clip: build, read, cast, check.

The architecture is built on the meta device (no random init, no memory). The weights come
from one of two sources:

- the checkpoint itself (``{'state_dict': ...}``, fp16 as published), memory-mapped
  (``torch.load(mmap=True, weights_only=True)``), checked against the model's entries (a strict
  load), assigned (``assign=True``) and cast: fp32 everywhere, except on CPU at bf16, where the
  image tower's blocks become :class:`scorer.bf16.Bf16Block` (bf16 matmuls over an fp32
  residual stream);
- a **prepared** copy: the same tensors after that cast, written once per checkpoint,
  architecture and layout as a safetensors file (``<data_dir>/weights/``), then
  memory-mapped by the library on every later load. Nothing is cast or copied at load, so the
  process holds each weight once (the file's pages) and is ready as soon as the pages are
  read (BENCHMARKS.md has the load times and peak memory of both).

The text tower's causal ``attn_mask`` is a non-persistent buffer, absent from both: it is
rebuilt, else text features would silently come out NaN. The caller checks that the loaded
model gives finite outputs (:func:`check_finite`).
"""

from __future__ import annotations

import json
import logging
import os
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import open_clip
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from .bf16 import Bf16Block, checkpoint_name, convert_image_tower
from .errors import CheckpointError, ConfigError

log = logging.getLogger(__name__)

# what a prepared file holds: "fp32" (fp32 CPU, and CUDA, where low precision is autocast
# over fp32 weights) or "bf16-cpu" (image blocks as Bf16Block). Bump FORMAT when the
# conversion changes: files of another format are rebuilt.
FP32, BF16_CPU = "fp32", "bf16-cpu"
FORMAT = "1"


class _OpenClipNoise(logging.Filter):
    """Drops open_clip's "No pretrained weights loaded ... initialized randomly": the
    architecture is built empty on purpose and the weights are assigned next. open_clip logs
    through the root logger, so the filter sits there and matches open_clip's records only."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (
            f"{os.sep}open_clip{os.sep}" in record.pathname
            and record.getMessage().startswith("No pretrained weights loaded")
        )


_NOISE_FILTER = _OpenClipNoise()


def arch_name(arch: str) -> str:
    """Register a model-config JSON with open_clip and return its name; names pass through."""
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


def layout_for(device: torch.device, precision: str) -> str:
    return BF16_CPU if device.type == "cpu" and precision == "bf16" else FP32


def build_model(name: str, layout: str = FP32) -> torch.nn.Module:
    """The architecture on the meta device; in the bf16-cpu layout with its image blocks
    already :class:`Bf16Block` (the shape of a prepared file)."""
    logging.getLogger().addFilter(_NOISE_FILTER)  # idempotent
    with torch.device("meta"):
        model = open_clip.create_model(name, pretrained=None, device="meta")
    if layout == BF16_CPU:
        convert_image_tower(model)
    return model


def text_keys(names: Iterable[str]) -> set[str]:
    """The text tower's entries of a CLIP state dict: all but the image tower's and the
    learned temperature (``logit_scale``, ``logit_bias``)."""
    return {
        k for k in names if not k.startswith("visual.") and k not in ("logit_scale", "logit_bias")
    }


def read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    """The state dict of a checkpoint file, memory-mapped."""
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


def check_keys(model: torch.nn.Module, state: dict, path: Path, label: str) -> None:
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


def _rebuild_missing_buffers(model: torch.nn.Module) -> None:
    """Rebuild non-persistent buffers left on the meta device (the causal text mask)."""
    for module in model.modules():
        for name, buf in list(module._buffers.items()):
            if buf is None or not buf.is_meta:
                continue
            if name != "attn_mask" or buf.ndim != 2 or buf.shape[0] != buf.shape[1]:
                raise CheckpointError(f"checkpoint lacks buffer {name!r} {tuple(buf.shape)}")
            module._buffers[name] = torch.full(tuple(buf.shape), float("-inf")).triu_(1)


def check_no_meta(model: torch.nn.Module, allowed: set[str] = frozenset()) -> None:
    leftovers = [n for n, p in model.named_parameters() if p.is_meta and n not in allowed]
    if leftovers:
        raise CheckpointError(f"checkpoint lacks parameters: {', '.join(leftovers[:5])}")


def put(table: dict, name: str, old: torch.Tensor, new: torch.Tensor) -> None:
    """Store ``new`` in a module's parameter or buffer ``table`` in place of ``old``,
    as a frozen Parameter where ``old`` was one."""
    is_param = isinstance(old, torch.nn.Parameter)
    table[name] = torch.nn.Parameter(new, requires_grad=False) if is_param else new


def _cast_weights(model: torch.nn.Module, dtype: torch.dtype) -> None:
    """Cast the floating parameters and buffers not yet in ``dtype`` (meta tensors, a text
    tower not loaded yet, and the bf16 blocks of :mod:`scorer.bf16` excepted)."""
    for module in model.modules():
        if isinstance(module, Bf16Block):  # its own tensors are bf16 by design
            continue
        for table in (module._parameters, module._buffers):
            for name, t in list(table.items()):
                if t is None or t.is_meta or not t.is_floating_point() or t.dtype == dtype:
                    continue
                put(table, name, t, t.detach().to(dtype))


def to_device(model: torch.nn.Module, dev: torch.device) -> None:
    """``model.to(dev)`` that leaves meta tensors (a text tower not loaded yet) alone."""
    for module in model.modules():
        for table in (module._parameters, module._buffers):
            for name, t in list(table.items()):
                if t is None or t.is_meta or t.device == dev:
                    continue
                put(table, name, t, t.detach().to(dev))


class CheckpointWeights:
    """Weights read from the checkpoint file and cast on every load."""

    def __init__(self, path: Path, name: str, label: str, layout: str) -> None:
        self.path, self.name, self.label, self.layout = path, name, label, layout

    def build(self) -> torch.nn.Module:
        model = build_model(self.name)  # plain: blocks are converted once assigned
        check_keys(model, read_state_dict(self.path), self.path, self.label)
        return model

    def load_into(self, model: torch.nn.Module, keys: set[str], dev: torch.device) -> None:
        state = read_state_dict(self.path)
        model.load_state_dict({k: state[k] for k in keys}, strict=False, assign=True)
        del state
        _rebuild_missing_buffers(model)
        if self.layout == BF16_CPU and any(k.startswith("visual.") for k in keys):
            convert_image_tower(model)
        _cast_weights(model, torch.float32)
        to_device(model, dev)

    def keys(self, model: torch.nn.Module) -> set[str]:
        return set(model.state_dict())


class PreparedWeights:
    """Weights memory-mapped from a prepared safetensors file, already in their layout."""

    def __init__(self, path: Path, name: str, layout: str) -> None:
        self.path, self.name, self.layout = path, name, layout

    def build(self) -> torch.nn.Module:
        return build_model(self.name, self.layout)

    def load_into(self, model: torch.nn.Module, keys: set[str], dev: torch.device) -> None:
        with safe_open(self.path, framework="pt") as f:
            state = {k: f.get_tensor(k) for k in keys}
        model.load_state_dict(state, strict=False, assign=True)
        del state
        _rebuild_missing_buffers(model)
        to_device(model, dev)

    def keys(self, model: torch.nn.Module) -> set[str]:
        return set(model.state_dict())


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", Path(text).name)[:60]


def prepared_path(cache_dir: Path, sha256: str, label: str, layout: str) -> Path:
    return cache_dir / f"{sha256[:32]}-{_slug(label)}-{layout}.safetensors"


def _metadata(sha256: str, label: str, layout: str) -> dict[str, str]:
    return {
        "format": FORMAT,
        "checkpoint_sha256": sha256,
        "arch": label,
        "layout": layout,
        "open_clip": open_clip.__version__,
    }


def _prepared_ok(path: Path, metadata: dict, model: torch.nn.Module) -> bool:
    """The file was made from this checkpoint, arch, layout and format, and holds exactly
    the entries (names, shapes, dtypes) of the model built in that layout."""
    try:
        with safe_open(path, framework="pt") as f:
            if f.metadata() != metadata:
                return False
            expected = model.state_dict()
            if set(f.keys()) != set(expected):
                return False
            for k, t in expected.items():
                s = f.get_slice(k)
                if tuple(s.get_shape()) != tuple(t.shape) or s.get_dtype() != _ST_DTYPES.get(
                    t.dtype
                ):
                    return False
        return True
    except Exception:  # unreadable, truncated: rebuilt
        return False


_ST_DTYPES = {torch.float32: "F32", torch.bfloat16: "BF16", torch.float16: "F16"}


def prepare(
    checkpoint: Path, sha256: str, name: str, label: str, layout: str, cache_dir: Path
) -> Path | None:
    """The prepared safetensors file of ``checkpoint`` in ``layout`` under ``cache_dir``,
    written now if it is missing or stale. None (and a warning) where it cannot be written:
    the caller then loads from the checkpoint itself."""
    out = prepared_path(cache_dir, sha256, label, layout)
    metadata = _metadata(sha256, label, layout)
    if out.is_file() and _prepared_ok(out, metadata, build_model(name, layout)):
        return out
    source = CheckpointWeights(checkpoint, name, label, layout)
    model = source.build()
    source.load_into(model, source.keys(model), torch.device("cpu"))
    tensors = {k: t.contiguous() for k, t in model.state_dict().items()}
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, prefix=out.name, suffix=".tmp")
        os.close(fd)
        try:
            save_file(tensors, tmp, metadata=metadata)
            os.replace(tmp, out)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    except OSError as exc:
        log.warning(
            "prepared weights not written to %s (%s): loading from %s", out, exc, checkpoint
        )
        return None
    log.info("prepared %s as %s (%s)", checkpoint, out, layout)
    return out


def check_finite(scorer, path: Path, names: Iterable[str], *, text: bool) -> None:
    """Finite outputs after loading, cheaply: one pass over the weights ``names`` (a sum per
    tensor: non-finite if any element is; far cheaper than a probe image forward, see
    BENCHMARKS.md) and, with ``text``, one prompt through the text tower (where a missing
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
