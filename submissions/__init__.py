"""Benchmark submissions: validated intake, durable scoring jobs, the worker."""

from .intake import check_image, intake, validate
from .report import SubmissionRejected, ValidationReport
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
    "intake",
    "load_benchmark_prompts",
    "submit",
    "validate",
]
