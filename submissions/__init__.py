"""Benchmark submissions: validated intake, durable scoring jobs, the worker."""

from .intake import check_image, intake, validate
from .report import SubmissionRejected, ValidationReport, index_ranges
from .submit import InvalidSubmission, SubmitResult, load_benchmark_prompts, submit
from .worker import Worker, default_scorer_factory

__all__ = [
    "InvalidSubmission",
    "SubmissionRejected",
    "SubmitResult",
    "ValidationReport",
    "Worker",
    "check_image",
    "default_scorer_factory",
    "index_ranges",
    "intake",
    "load_benchmark_prompts",
    "submit",
    "validate",
]
