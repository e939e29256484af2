"""Benchmark submissions: validated intake (uploads and hub references), durable scoring
jobs, the worker, reproductions of the published rows."""

from .hub import HubReferenceError, is_hub_ref
from .intake import check_image, intake, validate
from .report import SubmissionRejected, ValidationReport
from .reproduce import (
    UnknownPublishedModel,
    published_models,
    queue_reproductions,
    select_models,
)
from .submit import InvalidSubmission, SubmitResult, load_benchmark_prompts, submit
from .worker import Worker, default_scorer_factory

__all__ = [
    "HubReferenceError",
    "InvalidSubmission",
    "SubmissionRejected",
    "SubmitResult",
    "UnknownPublishedModel",
    "ValidationReport",
    "Worker",
    "check_image",
    "default_scorer_factory",
    "intake",
    "is_hub_ref",
    "load_benchmark_prompts",
    "published_models",
    "queue_reproductions",
    "select_models",
    "submit",
    "validate",
]
