"""HPS v2 scorer: faithful HPS v2 / v2.1 scoring on open_clip."""

from .errors import (
    BenchmarkLayoutError,
    CheckpointError,
    ConfigError,
    HPSError,
    ImageError,
    PromptSetError,
)
from .model import Comparison, HPSScorer, RankedImage, load_scorer, load_scorer_from_settings
from .preprocess import HPS_PREPROCESS, PreprocessCfg, load_image, preprocess
from .settings import ScorerSettings
from .zoo import DEFAULT_VERSION, VERSIONS, get_version, resolve_checkpoint

__all__ = [
    "BenchmarkLayoutError",
    "CheckpointError",
    "Comparison",
    "ConfigError",
    "DEFAULT_VERSION",
    "HPSError",
    "HPSScorer",
    "HPS_PREPROCESS",
    "ImageError",
    "PreprocessCfg",
    "PromptSetError",
    "RankedImage",
    "ScorerSettings",
    "VERSIONS",
    "get_version",
    "load_image",
    "load_scorer",
    "load_scorer_from_settings",
    "preprocess",
    "resolve_checkpoint",
]
