"""Model view (per-style results, best and worst prompts) and head-to-head view (two
verified models: win rates with CIs; one prompt's two images side by side)."""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence

import gradio as gr
import pandas as pd

from leaderboard import KIND_VERIFIED
from leaderboard.identity import is_safe_link
from leaderboard.stats import bootstrap_ci, head_to_head
from scorer.benchmark import image_path
from scorer.errors import ConfigError
from scorer.protocol import STYLES
from scorer.settings import VERSIONS

from . import texts
from .context import AppContext
from .errors import user_errors

TOP_PROMPTS = 10


# --- pure helpers -----------------------------------------------------------------------
def model_choices(rows: Sequence, *, verified_only: bool = False) -> list[tuple[str, str]]:
    """Dropdown (label, value): ``v:<id>`` for verified rows, ``r:<model>`` for reported."""
    out = []
    for r in rows:
        if r.kind == KIND_VERIFIED and r.submission_id is not None:
            out.append((f"{r.model} (#{r.submission_id})", f"v:{r.submission_id}"))
        elif not verified_only:
            out.append((f"{r.model} (reported)", f"r:{r.model}"))
    return out


def find_row(rows: Sequence, choice: str):
    for r in rows:
        value = f"v:{r.submission_id}" if r.kind == KIND_VERIFIED else f"r:{r.model}"
        if value == choice:
            return r
    raise ConfigError(f"no model {choice!r} in this version's leaderboard")


def _fmt(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def style_table(row, scores: Mapping[str, Sequence[float | None]] | None) -> pd.DataFrame:
    """Per style: mean, std, bootstrap 95% CI of the mean (verified rows only), n."""
    data = []
    for style in STYLES:
        st = row.styles.get(style)
        ci = bootstrap_ci(scores[style]) if scores else None
        ci_text = f"{ci.low:.2f} to {ci.high:.2f}" if ci else ""
        data.append([style, _fmt(st and st.mean), _fmt(st and st.std), ci_text, st.n if st else 0])
    return pd.DataFrame(data, columns=texts.MODEL_STYLE_COLUMNS)


def extreme_prompts(
    scores: Mapping[str, Sequence[float | None]],
    prompts: Mapping[str, Sequence[str]],
    n: int = TOP_PROMPTS,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(best ``n``, worst ``n``) prompts across styles by score."""
    items = [
        (style, i, score)
        for style in STYLES
        for i, score in enumerate(scores.get(style, []))
        if score is not None
    ]
    items.sort(key=lambda t: -t[2])

    def frame(chosen):
        rows = [[s, i, _prompt(prompts, s, i), round(score, 3)] for s, i, score in chosen]
        return pd.DataFrame(rows, columns=texts.PROMPT_COLUMNS)

    return frame(items[:n]), frame(list(reversed(items[-n:])) if items else [])


def _prompt(prompts: Mapping[str, Sequence[str]], style: str, index: int) -> str:
    values = prompts.get(style) or []
    return values[index] if 0 <= index < len(values) else ""


def h2h_table(scores_a, scores_b) -> tuple[pd.DataFrame, str]:
    """Per style and overall: win rate of A with its bootstrap CI, mean difference with the
    paired bootstrap CI, prompts compared; and a one-line summary."""
    result = head_to_head(scores_a, scores_b)
    data = []
    for style in [*STYLES, "overall"]:
        duel = result.overall if style == "overall" else result.styles[style]
        data.append(
            [
                style,
                "" if duel.win_rate is None else f"{duel.win_rate:.1%}",
                f"{duel.win_ci.low:.1%} to {duel.win_ci.high:.1%}" if duel.win_ci else "",
                _fmt(duel.mean_diff, 3),
                f"{duel.ci.low:.3f} to {duel.ci.high:.3f}" if duel.ci else "",
                duel.n,
            ]
        )
    overall = result.overall
    summary = (
        texts.H2H_SUMMARY.format(
            win=overall.win_rate, lo=overall.win_ci.low, hi=overall.win_ci.high
        )
        if overall.win_ci and overall.win_rate is not None
        else texts.LB_EMPTY
    )
    return pd.DataFrame(data, columns=texts.H2H_COLUMNS), summary


def _prompt_index(value) -> int:
    """A prompt index from the form (a number); ConfigError for anything else."""
    if value is None or value == "":
        return 0
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or number != int(number):
        raise ConfigError(texts.BAD_PROMPT_INDEX.format(value=repr(value)[:40]))
    return int(value)


# --- views ------------------------------------------------------------------------------
def _rows(ctx: AppContext, version: str):
    return ctx.store.leaderboard(version, include_partial=True)


def details_text(info) -> str:
    """A verified submission's metadata as plain text (user text is never rendered)."""
    fields = [
        (texts.LABEL_LINK, info.link),
        (texts.LABEL_ORG, info.organisation),
        (texts.LABEL_NOTES, info.notes),
        ("Checkpoint sha256", info.checkpoint_sha256),
        ("Precision", info.precision),
        ("Scored", info.finished_at.strftime("%Y-%m-%d %H:%M UTC") if info.finished_at else None),
    ]
    return "\n".join(f"{label}: {value}" for label, value in fields if value)


def link_html(link: str | None) -> str:
    """The model's link as an anchor that search engines do not credit and that cannot reach
    back into this page; nothing unless it is a plain http(s) URL."""
    if not is_safe_link(link):
        return ""
    href = html.escape(link, quote=True)
    return texts.MODEL_LINK.format(href=href, text=href)


def model_view(ctx: AppContext, version: str, choice: str | None):
    """(header Markdown, link HTML, details text, per-style table, best prompts, worst
    prompts)."""
    if not choice:
        return "", "", "", None, None, None
    row = find_row(_rows(ctx, version), choice)
    header = texts.MODEL_HEADER.format(
        model=texts.md_escape(row.model),
        version=row.version,
        kind=texts.BADGE.get(row.kind, row.kind),
        n=row.n_images,
        partial=texts.PARTIAL_MARK if row.partial else "",
    )
    if row.kind != KIND_VERIFIED:
        note = header + "\n\n" + texts.MODEL_REPORTED_ONLY
        return note, link_html(row.link), "", style_table(row, None), None, None
    sid = row.submission_id
    scores = ctx.store.image_scores(sid)
    best, worst = extreme_prompts(scores, ctx.store.prompts(sid))
    details = details_text(ctx.store.get_submission(sid))
    return header, link_html(row.link), details, style_table(row, scores), best, worst


def verified_id(ctx: AppContext, version: str, choice: str) -> int:
    """The submission id of a dropdown value, only if it is a verified row the leaderboard of
    ``version`` shows: these events can be called by anyone, and must not reach hidden or
    unfinished submissions."""
    shown = {v for _, v in model_choices(_rows(ctx, version), verified_only=True)}
    if choice not in shown:
        raise ConfigError(texts.NOT_A_VERIFIED_MODEL.format(choice=str(choice)[:40]))
    return int(choice.split(":", 1)[1])


def pair_view(
    ctx: AppContext, version: str, id_a: str, id_b: str, style: str, index
) -> tuple[list, str]:
    """Both models' images for one prompt, captioned with their scores; and the prompt."""
    if not id_a or not id_b:
        return [], ""
    if style not in STYLES:
        raise ConfigError(texts.UNKNOWN_STYLE.format(style=str(style)[:40]))
    index = _prompt_index(index)
    items, prompt = [], ""
    for side, choice in (("A", id_a), ("B", id_b)):
        sid = verified_id(ctx, version, choice)
        score = ctx.store.image_scores(sid).get(style, [])
        value = score[index] if 0 <= index < len(score) else None
        prompt = prompt or _prompt(ctx.store.prompts(sid), style, index)
        path = image_path(ctx.store.submission_folder(sid), style, index)
        caption = texts.PAIR_CAPTION.format(side=side, id=sid, score=_fmt(value))
        if path is not None:
            items.append((str(path), caption))
    return items, prompt


def build_model_tab(ctx: AppContext, demo: gr.Blocks) -> None:
    with gr.Row():
        version = gr.Radio(list(VERSIONS), value=ctx.settings.version, label=texts.LABEL_VERSION)
        choice = gr.Dropdown([], label=texts.LABEL_PICK_MODEL, scale=3)
    header = gr.Markdown()
    link = gr.HTML(elem_id="model-link")
    details = gr.Textbox(show_label=False, interactive=False, lines=2)
    styles = gr.Dataframe(datatype="str", interactive=False)
    with gr.Row():
        best = gr.Dataframe(label=texts.LABEL_BEST, datatype="str", interactive=False, wrap=True)
        worst = gr.Dataframe(label=texts.LABEL_WORST, datatype="str", interactive=False, wrap=True)

    def choices(version):
        return gr.Dropdown(choices=model_choices(_rows(ctx, version)), value=None)

    show = user_errors(lambda v, c: model_view(ctx, v, c))
    version.change(user_errors(choices), version, choice, api_visibility="private")
    demo.load(user_errors(choices), version, choice, api_visibility="private")
    outputs = [header, link, details, styles, best, worst]
    choice.change(show, [version, choice], outputs, api_visibility="private")


def build_head_to_head_tab(ctx: AppContext, demo: gr.Blocks) -> None:
    with gr.Row():
        version = gr.Radio(list(VERSIONS), value=ctx.settings.version, label=texts.LABEL_VERSION)
        model_a = gr.Dropdown([], label=texts.LABEL_MODEL_A)
        model_b = gr.Dropdown([], label=texts.LABEL_MODEL_B)
    button = gr.Button(texts.BUTTON_H2H, variant="primary")
    summary = gr.Markdown()
    table = gr.Dataframe(datatype="str", interactive=False)
    with gr.Row():
        style = gr.Dropdown(list(STYLES), value=STYLES[0], label=texts.LABEL_STYLE)
        index = gr.Number(0, precision=0, minimum=0, label=texts.LABEL_PROMPT_INDEX)
    prompt = gr.Textbox(label=texts.LABEL_PROMPT, interactive=False)
    pair = gr.Gallery(label=texts.LABEL_PAIR, columns=2, height=420, object_fit="contain")

    def choices(version):
        options = model_choices(_rows(ctx, version), verified_only=True)
        return gr.Dropdown(choices=options, value=None), gr.Dropdown(choices=options, value=None)

    @user_errors
    def compare(version, a, b):
        if not a or not b or a == b:
            raise ConfigError(texts.PICK_TWO)
        ida, idb = (verified_id(ctx, version, x) for x in (a, b))
        table, summary = h2h_table(ctx.store.image_scores(ida), ctx.store.image_scores(idb))
        return summary, table

    show_pair = user_errors(lambda v, a, b, s, i: pair_view(ctx, v, a, b, s, i))
    for event in (version.change, demo.load):
        event(user_errors(choices), version, [model_a, model_b], api_visibility="private")
    button.click(compare, [version, model_a, model_b], [summary, table], api_visibility="private")
    pair_io = ([version, model_a, model_b, style, index], [pair, prompt])
    for trigger in (button.click, style.change, index.change):
        trigger(show_pair, *pair_io, api_visibility="private")
