"""Submit tab: zip or folder upload, or a hub dataset reference -> validation report at once
-> a server-side scoring job with live progress (``gr.Timer`` polling the store); queue
view; admin actions."""

from __future__ import annotations

import html
import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

import gradio as gr
import pandas as pd
from gradio.utils import get_upload_folder

from leaderboard import models as m
from scorer.errors import ConfigError
from scorer.protocol import STYLES
from scorer.settings import VERSIONS
from submissions import SubmissionRejected, submit

from . import texts
from .admin import Throttle, admin_action, check_token, client_address, submission_id_of
from .components import UploadedFile
from .context import AppContext
from .errors import user_errors
from .urlstate import ViewState, to_query

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


def _upload_path(file) -> Path:
    return Path(str(getattr(file, "name", file)))


def discard_uploads(paths: Sequence[Path]) -> None:
    """Delete uploaded files (up to 2 GiB each) from Gradio's upload cache, and their
    per-upload folders once empty. Only files inside the cache: a path that is not there is
    not ours to delete."""
    cache = Path(get_upload_folder()).resolve()
    for path in paths:
        try:
            resolved = path.resolve()
        except OSError:
            continue
        if cache not in resolved.parents:
            continue
        resolved.unlink(missing_ok=True)
        parent = resolved.parent
        while parent != cache and cache in parent.parents:
            try:
                parent.rmdir()  # only when empty
            except OSError:
                break
            parent = parent.parent


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
    hub_ref: str | None = None,
) -> dict:
    """Validate and queue; returns ``{"ok", "submission_id", "status", "duplicate",
    "report", "report_text"}``. A rejected upload is a result (its report), not an error.
    ``hub_ref``: ``hf://datasets/...`` instead of an upload (listed, checked, fetched)."""
    has_folders = any(folders.values())
    hub_ref = (hub_ref or "").strip()
    staging = None
    uploads = [_upload_path(f) for f in ([zip_file] if zip_file else [])]
    uploads += [_upload_path(f) for files in folders.values() for f in files or []]
    try:
        given = sum(map(bool, (zip_file, has_folders, hub_ref)))
        if not given:
            raise ConfigError(texts.NO_UPLOAD)
        if given > 1:
            raise ConfigError(texts.BOTH_UPLOADS)
        if has_folders:
            staging = stage_folders(ctx.settings.data_path / "uploads", folders)
        if hub_ref:
            path = hub_ref
        else:
            path = staging or uploads[0]
        meta = dict(model=model, link=link, organisation=organisation, notes=notes)
        result = submit(
            ctx.store, path, **meta, version=version, partial=partial,
            settings=ctx.settings, prompts=ctx.prompts(),
        )  # fmt: skip
    except SubmissionRejected as exc:
        return _report_result(exc.report, None, None, False)
    finally:
        # accepted: intake has copied what it keeps; refused or an error: nothing is kept
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        discard_uploads(uploads)
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


def progress_dict(ctx: AppContext, submission_id) -> dict:
    submission_id = submission_id_of(submission_id)
    p = ctx.store.progress(submission_id)
    return {
        "submission_id": submission_id,
        "status": p.status,
        "done": p.done,
        "total": p.total,
        "fraction": p.fraction,
        "rate_per_s": p.rate_per_s,
        "eta_s": p.eta_s,
    }


def valid_id(value) -> int | None:
    """A submission id typed or received, or None for an empty or impossible one (the
    form's "nothing to follow", never an error)."""
    try:
        return submission_id_of(value)
    except ConfigError:
        return None


def finished_links(ctx: AppContext, submission_id: int) -> str:
    """Links from a finished job to its model view and its leaderboard row (escaped)."""
    info = ctx.store.get_submission(submission_id)
    default = ctx.settings.version
    model = to_query(ViewState(tab="model", version=info.version, model=f"v:{info.id}"),
                     default_version=default)  # fmt: skip
    row = to_query(ViewState(version=info.version, q=info.model, verified=True),
                   default_version=default)  # fmt: skip
    return texts.PROGRESS_LINKS.format(model=html.escape(f"?{model}"), row=html.escape(f"?{row}"))


def progress_html(p: dict | None, links: str = "") -> str:
    """A progress bar and one line of numbers (no user text: nothing to escape); ``links``:
    HTML shown under it once the job is done."""
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
        + (links if p["status"] == m.DONE else "")
    )


def queue_frame(ctx: AppContext, *, include_hidden: bool = False) -> pd.DataFrame:
    """The queue, newest first; ``include_hidden`` (the admin's view) adds hidden ones."""
    rows = [
        [
            s.id,
            s.model,
            s.version,
            s.status
            + (" (partial)" if s.partial else "")
            + (texts.HIDDEN_MARK if s.hidden else ""),
            f"{s.images_done}/{s.images_total}",
            s.created_at.strftime("%Y-%m-%d %H:%M") if s.created_at else "",
            (s.error or "")[:200],
        ]
        for s in ctx.store.list_submissions(include_hidden=include_hidden)
    ]
    return pd.DataFrame(rows, columns=texts.QUEUE_COLUMNS)


SCROLL_TO_REPORT_JS = """() => {
  const el = document.querySelector('#submit-report');
  if (el) el.scrollIntoView({behavior: 'smooth', block: 'start'});
}"""


def build_submit_tab(ctx: AppContext, demo: gr.Blocks) -> list:
    """Build the tab; returns the admin actions' events (the leaderboard follows them)."""
    gr.Markdown(texts.SUBMIT_INTRO.format(max_mb=ctx.settings.max_upload_mb))
    with gr.Row():
        with gr.Column():
            zip_file = UploadedFile(
                file_types=[".zip", ".tar", ".gz", ".tgz"],
                label=texts.LABEL_ZIP,
                elem_id="submit-zip",
            )
            hub_ref = gr.Textbox(
                label=texts.LABEL_HUB_REF,
                placeholder=texts.PLACEHOLDER_HUB_REF,
                max_lines=1,
                elem_id="submit-hub-ref",
            )
            folders = []
            for pair in (STYLES[:2], STYLES[2:]):
                with gr.Row():
                    folders += [
                        UploadedFile(
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
                "requeue": gr.Button(texts.BUTTON_RESCORE, size="sm"),
            }
            delete = gr.Button(
                texts.BUTTON_DELETE, size="sm", variant="stop", elem_id="admin-delete"
            )
        with gr.Row(visible=False, elem_id="admin-confirm") as confirm_row:
            confirm_text = gr.Markdown()
            confirm = gr.Button(texts.BUTTON_CONFIRM_DELETE, size="sm", variant="stop",
                                elem_id="admin-confirm-delete")  # fmt: skip
            cancel = gr.Button(texts.BUTTON_CANCEL, size="sm", elem_id="admin-cancel")
        admin_result = gr.Textbox(show_label=False, interactive=False, elem_id="admin-result")
        admin_queue = gr.Dataframe(label=texts.LABEL_ADMIN_QUEUE, datatype="str", interactive=False,
                                   wrap=True, visible=False, elem_id="admin-queue")  # fmt: skip
        storage = gr.Markdown(elem_id="admin-storage")

    @user_errors
    def on_submit(zip_file, anime, concept_art, paintings, photo, model, link, organisation,
                  notes, version, partial, hub_ref=""):  # fmt: skip
        folders = dict(zip(STYLES, (anime, concept_art, paintings, photo)))
        result = submit_upload(
            ctx, zip_file, folders, model=model, link=link, organisation=organisation,
            notes=notes, version=version, partial=partial, hub_ref=hub_ref,
        )  # fmt: skip
        return report_text(result), result, result["submission_id"], gr.Timer(active=result["ok"])

    @user_errors
    def on_tick(submission_id):
        sid = valid_id(submission_id)
        if sid is None:  # nothing to follow: say how, never an error
            return progress_html(None), queue_frame(ctx), gr.Timer(active=False)
        p = progress_dict(ctx, sid)
        links = finished_links(ctx, sid) if p["status"] == m.DONE else ""
        return (progress_html(p, links), queue_frame(ctx),
                gr.Timer(active=p["status"] not in m.FINISHED))  # fmt: skip

    button.click(
        on_submit,
        [zip_file, *folders, model, link, organisation, notes, version, partial, hub_ref],
        [report, raw, job_id, timer],
        api_name="submit",
        concurrency_id="intake",
        concurrency_limit=1,
    ).then(None, None, None, js=SCROLL_TO_REPORT_JS)  # the upload fields change size meanwhile
    button.click(None, None, None, js=SCROLL_TO_REPORT_JS)
    job_id.change(
        lambda i: gr.Timer(active=valid_id(i) is not None), job_id, timer, api_visibility="private"
    )
    timer.tick(on_tick, job_id, [progress, queue, timer], api_visibility="private")
    refresh.click(on_tick, job_id, [progress, queue, timer], api_visibility="private")
    demo.load(user_errors(lambda: queue_frame(ctx)), None, queue, api_visibility="private")
    # where data is lost, how the backups fare (web.hosting, leaderboard.backup)
    demo.load(ctx.storage_status, None, storage, api_visibility="private")
    refresh.click(ctx.storage_status, None, storage, api_visibility="private")
    throttle = Throttle.from_settings(ctx.settings)

    def run_admin(action):
        @user_errors
        def run(t, i, request: gr.Request):
            message = admin_action(
                ctx.store, ctx.settings, t, action, i,
                throttle=throttle, client=client_address(request),
            )  # fmt: skip
            every = queue_frame(ctx, include_hidden=True)
            hidden = gr.Row(visible=False)
            return message, gr.Dataframe(every, visible=True), queue_frame(ctx), hidden

        return run

    admin_out = [admin_result, admin_queue, queue, confirm_row]
    events = [
        admin_button.click(
            run_admin(action), [token, admin_id], admin_out, api_visibility="private"
        )
        for action, admin_button in buttons.items()
    ]
    events.append(
        confirm.click(run_admin("delete"), [token, admin_id], admin_out, api_visibility="private")
    )

    @user_errors
    def ask_delete(t, i, request: gr.Request):
        check_token(ctx.settings, t, throttle=throttle, client=client_address(request))
        sid = submission_id_of(i)
        info = ctx.store.get_submission(sid)
        question = texts.CONFIRM_DELETE.format(id=sid, model=texts.md_escape(info.model))
        return gr.Row(visible=True), question

    delete.click(
        ask_delete, [token, admin_id], [confirm_row, confirm_text], api_visibility="private"
    )
    cancel.click(lambda: gr.Row(visible=False), None, confirm_row, api_visibility="private")

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
    return events
