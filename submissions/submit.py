"""Submitting a benchmark: validate, copy the images into the submission's own folder,
queue a scoring job. Identical content is never scored twice."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from huggingface_hub import try_to_load_from_cache

from leaderboard import models as m
from leaderboard.identity import check_link
from scorer.errors import CheckpointError, HPSError
from scorer.prompts import PromptSets, load_prompt_sets
from scorer.zoo import file_sha256, get_version, resolve_checkpoint

from .hub import HubListing, fetch, is_hub_ref, listing_problems, resolve
from .intake import intake
from .report import SubmissionRejected, ValidationReport

PENDING_PREFIX = "pending:"
MAX_NAME = 200


class InvalidSubmission(HPSError, ValueError):
    """The submission's metadata (model name, link, ...) cannot be used."""


@dataclass(frozen=True)
class SubmitResult:
    submission_id: int
    status: str
    report: ValidationReport
    duplicate: bool  # identical content was already submitted: this is that submission


def expected_checkpoint_sha256(settings, version: str) -> str:
    """Digest of the checkpoint a worker with these settings will load, without downloading;
    ``pending:<version>`` when it is not on this machine (the worker records it)."""
    settings = settings.for_version(version)
    if settings.checkpoint:
        try:
            return file_sha256(resolve_checkpoint(version, settings.checkpoint))
        except CheckpointError:
            return PENDING_PREFIX + version
    spec = get_version(version)
    for cache_dir in dict.fromkeys([None, settings.hub_cache]):  # preloaded, then ours
        try:
            cached = try_to_load_from_cache(spec.repo_id, spec.filename, cache_dir=cache_dir)
        except Exception:
            cached = None
        if isinstance(cached, str) and os.path.isfile(cached):
            return file_sha256(cached)
    return PENDING_PREFIX + version


def load_benchmark_prompts(settings) -> PromptSets:
    return load_prompt_sets(
        settings.prompts, expect_count=settings.prompt_count_check, hub_cache=settings.hub_cache
    )


def _check_text(label: str, value: str | None, *, required: bool = False) -> str | None:
    value = value.strip() if isinstance(value, str) else value
    if not value:
        if required:
            raise InvalidSubmission(f"{label} is empty: give the model's name (--model)")
        return None
    if len(value) > (MAX_NAME if label == "model name" else 4000):
        raise InvalidSubmission(f"{label} is too long ({len(value)} characters)")
    return value


def fetch_reference(reference: str, settings) -> tuple[HubListing, object]:
    """Resolve a hub reference, apply the upload limits to its listing, then download it:
    (listing, what intake reads). Raises SubmissionRejected before any download when a
    limit is exceeded."""
    listing = resolve(reference, max_files=settings.max_zip_entries)
    problems = listing_problems(listing, settings)
    if problems:
        raise SubmissionRejected(ValidationReport(str(listing.ref), errors=problems))
    return listing, fetch(listing)


def submit(
    store,
    path: str | os.PathLike,
    *,
    model: str,
    link: str | None = None,
    organisation: str | None = None,
    notes: str | None = None,
    version: str | None = None,
    partial: bool = False,
    settings=None,
    prompts: PromptSets | None = None,
    reproduction: bool = False,
) -> SubmitResult:
    """Validate ``path`` (zip/tar archive, folder, or a hub reference
    ``hf://datasets/<owner>/<name>[@<revision>][/<path>]``) and queue it for scoring.

    Raises SubmissionRejected (carrying the report) when it is invalid or incomplete
    without ``partial``. The images are copied to ``<data_dir>/submissions/<id>/``.
    ``reproduction`` (``submissions.reproduce`` only): the published model ``model``'s own
    images; the result joins that published model, as the twin of its reported row.
    """
    settings = settings or store.settings
    version = version or settings.version
    get_version(version)
    model = _check_text("model name", model, required=True)
    link = check_link(_check_text("link", link))
    organisation = _check_text("organisation", organisation)
    notes = _check_text("notes", notes)
    # before reading a large upload: a taken name is refused at once (and again when stored)
    if reproduction and (link or organisation):
        raise InvalidSubmission("a reproduction cannot set the published model's link")
    store.check_model_name(
        model, link=link, organisation=organisation, notes=notes, reproduction=reproduction
    )
    prompts = prompts or load_benchmark_prompts(settings)
    listing = None
    if is_hub_ref(path):
        listing, path = fetch_reference(str(path), settings)

    root = store.data_path / "submissions"
    root.mkdir(parents=True, exist_ok=True)
    _remove_stale_staging(root)
    staging = root / f".staging-{uuid.uuid4().hex}"
    staging.mkdir()
    try:
        result = intake(path, prompts, settings, partial=partial, dest=staging)
        report = result.report
        if not report.ok:
            raise SubmissionRejected(report)

        def place(submission_id: int) -> None:
            target = store.submission_folder(submission_id)
            if target.exists():  # left by a crash before a commit: not a stored submission
                shutil.rmtree(target)
            os.replace(staging, target)

        submission_id, duplicate = store.create_submission(
            model=model,
            version=version,
            content_hash=result.content_hash,
            checkpoint_sha256=expected_checkpoint_sha256(settings, version),
            prompts=prompts.styles,
            prompts_source=prompts.source,
            partial=not report.complete,
            images_total=report.images,
            link=link,
            organisation=organisation,
            notes=notes,
            place=place,
            hub=(listing.ref.repo_id, listing.ref.path, listing.sha) if listing else None,
            reproduction=reproduction,
        )
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    if duplicate:
        report.warnings.append(
            f"identical content was already submitted as #{submission_id}: "
            "its result is returned, nothing is scored again"
        )
        if store.get_submission(submission_id).status in (m.FAILED, m.CANCELLED):
            store.requeue(submission_id)  # resumes: images already scored are kept
            report.warnings.append(f"#{submission_id} had stopped: queued again")
    return SubmitResult(
        submission_id, store.get_submission(submission_id).status, report, duplicate
    )


STALE_STAGING_S = 24 * 3600


def _remove_stale_staging(root: Path) -> None:
    """Staging folders left by a process that died mid-submit (older than a day)."""
    cutoff = time.time() - STALE_STAGING_S
    for folder in root.glob(".staging-*"):
        try:
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)
        except OSError:
            pass
