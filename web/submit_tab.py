"""Submit tab: zip or folder upload -> validation report at once -> a server-side scoring
job with live progress (``gr.Timer`` polling the store); queue view; admin actions."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
import pandas as pd

from leaderboard import models as m
from scorer.errors import ConfigError
from scorer.protocol import STYLES
from scorer.settings import VERSIONS
from submissions import SubmissionRejected, submit

from . import texts
from .admin import admin_action
from .context import AppContext
from .errors import user_errors

POLL_SECONDS = 2.0


def stage_folders(staging_root: Path, folders: dict[str, Sequence]) -> Path:
    """Lay uploaded per-style files out as ``<staging>/<style>/<file name>``.

    The browser uploads a folder's files without their folder, so each style has its own
    picker; the style comes from the picker.
    """
    staging = staging_root / f"upload-{uuid.uuid4().hex}"
    for style, files in folders.items():
        target = staging / style
        target.mkdir(parents=True, exist_ok=True)
        for file in files or []:
            source = Path(str(getattr(file, "name", file)))
            shutil.copyfile(source, target / source.name)
    return staging


def submit_upload(
    ctx: AppContext,
    zip_file,
    folders: dict[str, Sequence],
    *,
    model: str,
    link: str | None,
    organisation: str | None,
    notes: str | None,
    version: str,
    partial: bool,
) -> dict:
    """Validate and queue; returns ``{"ok", "submission_id", "status", "duplicate",
    "report", "report_text"}``. A rejected upload is a result (its report), not an error."""
    has_folders = any(folders.values())
    if not zip_file and not has_folders:
        raise ConfigError(texts.NO_UPLOAD)
    if zip_file and has_folders:
        raise ConfigError(texts.BOTH_UPLOADS)
    staging = None
    try:
        if has_folders:
            staging = stage_folders(ctx.settings.data_path / "uploads", folders)
        path = staging or Path(str(getattr(zip_file, "name", zip_file)))
        meta = dict(model=model, link=link, organisation=organisation, notes=notes)
        result = submit(
            ctx.store, path, **meta, version=version, partial=partial,
            settings=ctx.settings, prompts=ctx.prompts(),
        )  # fmt: skip
    except SubmissionRejected as exc:
        return _report_result(exc.report, None, None, False)
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return _report_result(result.report, result.submission_id, result.status, result.duplicate)


def _report_result(report, submission_id, status, duplicate) -> dict:
    return {
        "ok": submission_id is not None,
        "submission_id": submission_id,
        "status": status,
        "duplicate": duplicate,
        "report": report.as_dict(),
        "report_text": report.as_text(),
    }


def report_text(result: dict) -> str:
    if not result["ok"]:
        return result["report_text"]
    head = (
        texts.SUBMIT_DUPLICATE.format(id=result["submission_id"])
        if result["duplicate"]
        else texts.SUBMIT_ACCEPTED.format(id=result["submission_id"], status=result["status"])
    )
    return head + "\n\n" + result["report_text"]


def progress_dict(ctx: AppContext, submission_id: int) -> dict:
    p = ctx.store.progress(int(submission_id))
    return {
        "submission_id": int(submission_id),
        "status": p.status,
        "done": p.done,
        "total": p.total,
        "fraction": p.fraction,
        "rate_per_s": p.rate_per_s,
        "eta_s": p.eta_s,
    }


def progress_html(p: dict | None) -> str:
    """A progress bar and one line of numbers (no user text: nothing to escape)."""
    if not p:
        return f"<p>{texts.PROGRESS_NONE}</p>"
    rate = texts.PROGRESS_RATE.format(rate=p["rate_per_s"]) if p["rate_per_s"] else ""
    eta = ""
    if p["status"] not in m.FINISHED and p["eta_s"] is not None:
        eta = texts.PROGRESS_ETA.format(eta=texts.format_duration(p["eta_s"]))
    line = texts.PROGRESS_LINE.format(
        id=int(p["submission_id"]), status=p["status"], done=int(p["done"]),
        total=int(p["total"]), rate=rate, eta=eta,
    )  # fmt: skip
    total = max(int(p["total"]), 1)
    return (
        f'<progress class="hps-progress" value="{int(p["done"])}" max="{total}" '
        f'style="width:100%;height:1.2em"></progress><p id="hps-progress-line">{line}</p>'
    )


def queue_frame(ctx: AppContext) -> pd.DataFrame:
    rows = [
        [
            s.id,
            s.model,
            s.version,
            s.status + (" (partial)" if s.partial else ""),
            f"{s.images_done}/{s.images_total}",
            s.created_at.strftime("%Y-%m-%d %H:%M") if s.created_at else "",
            (s.error or "")[:200],
        ]
        for s in ctx.store.list_submissions()
    ]
    return pd.DataFrame(rows, columns=texts.QUEUE_COLUMNS)


def build_submit_tab(ctx: AppContext, demo: gr.Blocks) -> None:
    gr.Markdown(texts.SUBMIT_INTRO.format(max_mb=ctx.settings.max_upload_mb))
    with gr.Row():
        with gr.Column():
            zip_file = gr.File(file_types=[".zip"], label=texts.LABEL_ZIP, elem_id="submit-zip")
            folders = []
            for pair in (STYLES[:2], STYLES[2:]):
                with gr.Row():
                    folders += [
                        gr.File(
                            file_count="directory",
                            label=texts.LABEL_FOLDER.format(style=s),
                            elem_id=f"submit-folder-{s}",
                        )
                        for s in pair
                    ]
        with gr.Column():
            model = gr.Textbox(label=texts.LABEL_MODEL, max_length=200, elem_id="submit-model")
            link = gr.Textbox(label=texts.LABEL_LINK)
            organisation = gr.Textbox(label=texts.LABEL_ORG)
            notes = gr.Textbox(label=texts.LABEL_NOTES, lines=2)
            version = gr.Radio(
                list(VERSIONS), value=ctx.settings.version, label=texts.LABEL_VERSION
            )
            partial = gr.Checkbox(False, label=texts.LABEL_PARTIAL)
            button = gr.Button(texts.BUTTON_SUBMIT, variant="primary", elem_id="submit-button")
    report = gr.Textbox(
        label=texts.LABEL_REPORT, lines=8, interactive=False, elem_id="submit-report"
    )
    with gr.Accordion(texts.LABEL_RAW, open=False):
        raw = gr.JSON()
    with gr.Group():
        job_id = gr.Number(None, precision=0, label=texts.LABEL_JOB_ID, elem_id="hps-job-id")
        progress = gr.HTML(progress_html(None), label=texts.LABEL_PROGRESS)
    timer = gr.Timer(POLL_SECONDS, active=False)
    queue = gr.Dataframe(
        elem_id="submit-queue",
        label=texts.LABEL_QUEUE,
        datatype="str",
        interactive=False,
        wrap=True,
    )
    refresh = gr.Button(texts.BUTTON_REFRESH, size="sm")
    with gr.Accordion(texts.ADMIN_TITLE, open=False):
        token = gr.Textbox(label=texts.LABEL_ADMIN_TOKEN, type="password")
        admin_id = gr.Number(None, precision=0, label=texts.LABEL_ADMIN_ID)
        with gr.Row():
            buttons = {
                "hide": gr.Button(texts.BUTTON_HIDE, size="sm"),
                "unhide": gr.Button(texts.BUTTON_UNHIDE, size="sm"),
                "delete": gr.Button(texts.BUTTON_DELETE, size="sm", variant="stop"),
                "requeue": gr.Button(texts.BUTTON_RESCORE, size="sm"),
            }
        admin_result = gr.Textbox(show_label=False, interactive=False)

    @user_errors
    def on_submit(zip_file, anime, concept_art, paintings, photo, model, link, organisation,
                  notes, version, partial):  # fmt: skip
        folders = dict(zip(STYLES, (anime, concept_art, paintings, photo)))
        result = submit_upload(
            ctx, zip_file, folders, model=model, link=link, organisation=organisation,
            notes=notes, version=version, partial=partial,
        )  # fmt: skip
        return report_text(result), result, result["submission_id"], gr.Timer(active=result["ok"])

    @user_errors
    def on_tick(submission_id):
        if submission_id is None:
            return progress_html(None), queue_frame(ctx), gr.Timer(active=False)
        p = progress_dict(ctx, submission_id)
        return progress_html(p), queue_frame(ctx), gr.Timer(active=p["status"] not in m.FINISHED)

    button.click(
        on_submit,
        [zip_file, *folders, model, link, organisation, notes, version, partial],
        [report, raw, job_id, timer],
        api_name="submit",
        concurrency_id="intake",
        concurrency_limit=1,
    )
    job_id.change(lambda _: gr.Timer(active=True), job_id, timer, api_visibility="private")
    timer.tick(on_tick, job_id, [progress, queue, timer], api_visibility="private")
    refresh.click(on_tick, job_id, [progress, queue, timer], api_visibility="private")
    demo.load(user_errors(lambda: queue_frame(ctx)), None, queue, api_visibility="private")
    for action, admin_button in buttons.items():
        admin_button.click(
            user_errors(lambda t, i, a=action: admin_action(ctx.store, ctx.settings, t, a, i)),
            [token, admin_id],
            admin_result,
            api_visibility="private",
        )

    @user_errors
    def progress(submission_id: int) -> dict:
        """Progress of a submission's scoring job: status, done, total, fraction,
        rate_per_s, eta_s."""
        return progress_dict(ctx, submission_id)

    @user_errors
    def submissions(include_done: bool = True) -> list[dict]:
        """Visible submissions, newest first: id, model, version, status, images done/total."""
        return [
            {"id": s.id, "model": s.model, "version": s.version, "status": s.status,
             "partial": s.partial, "images_done": s.images_done, "images_total": s.images_total,
             "error": s.error}
            for s in ctx.store.list_submissions()
            if include_done or s.status not in m.FINISHED
        ]  # fmt: skip

    gr.api(progress, api_name="progress")
    gr.api(submissions, api_name="queue")
