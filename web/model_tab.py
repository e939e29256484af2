"""Model view (per-style results, best and worst prompts) and head-to-head view (two
verified models: win rates with CIs; one prompt's two images side by side).

Both views start with what to do (never an empty table), keep the last result on screen
when a request fails (the error shows beside it), and keep their state in the URL.
"""

from __future__ import annotations

import html
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import gradio as gr
import pandas as pd

from leaderboard import KIND_VERIFIED
from leaderboard.identity import is_safe_link
from leaderboard.stats import bootstrap_ci, head_to_head
from scorer.benchmark import image_path
from scorer.errors import ConfigError, HPSError
from scorer.protocol import STYLES
from scorer.settings import VERSIONS

from . import texts
from .context import AppContext
from .tables import esc, frame_html
from .urlstate import ViewState

log = logging.getLogger(__name__)

TOP_PROMPTS = 10
COPY_LINK_JS = """() => {
  const b = document.activeElement;
  const done = () => { if (b && b.tagName === 'BUTTON') { const t = b.innerText;
    b.innerText = 'LINK_COPIED'; setTimeout(() => { b.innerText = t; }, 1500); } };
  if (navigator.clipboard) navigator.clipboard.writeText(location.href).then(done, done);
  else done();
}""".replace("LINK_COPIED", texts.LINK_COPIED)


# --- pure helpers -----------------------------------------------------------------------
def model_choices(rows: Sequence, *, verified_only: bool = False) -> list[tuple[str, str]]:
    """Dropdown (label, value): ``v:<id>`` for verified rows, ``r:<model>`` for reported."""
    out = []
    for r in rows:
        rank = f"#{r.rank} " if r.rank is not None else ""
        if r.kind == KIND_VERIFIED and r.submission_id is not None:
            out.append((f"{rank}{r.model} (verified #{r.submission_id})", f"v:{r.submission_id}"))
        elif not verified_only:
            out.append((f"{rank}{r.model} (reported)", f"r:{r.model}"))
    return out


def find_row(rows: Sequence, choice: str):
    for r in rows:
        value = f"v:{r.submission_id}" if r.kind == KIND_VERIFIED else f"r:{r.model}"
        if value == choice:
            return r
    raise ConfigError(texts.NO_SUCH_MODEL.format(choice=choice))


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


def h2h_table(scores_a, scores_b, name_a: str = "A", name_b: str = "B") -> tuple[pd.DataFrame, str]:
    """Per style and overall: win rate of A with its bootstrap CI, mean difference with the
    paired bootstrap CI, prompts compared; and a one-line summary naming both models
    (``name_a``/``name_b`` are plain text; the summary is plain text too)."""
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
    if overall.win_ci and overall.win_rate is not None:
        summary = texts.H2H_SUMMARY.format(
            a=name_a, b=name_b, win=overall.win_rate, lo=overall.win_ci.low, hi=overall.win_ci.high
        )
    else:
        summary = texts.H2H_NO_SHARED
    return pd.DataFrame(data, columns=texts.H2H_COLUMNS), summary


def prompt_order(
    scores_a: Mapping[str, Sequence[float | None]],
    scores_b: Mapping[str, Sequence[float | None]],
    style: str,
    *,
    largest_first: bool = False,
) -> list[int]:
    """Prompt indices of ``style`` both models scored: in index order, or by the size of
    their disagreement |a - b|, largest first (ties by index)."""
    a, b = scores_a.get(style, []), scores_b.get(style, [])
    shared = [(i, x, y) for i, (x, y) in enumerate(zip(a, b)) if x is not None and y is not None]
    if largest_first:
        shared.sort(key=lambda t: (-abs(t[1] - t[2]), t[0]))
    return [i for i, _, _ in shared]


def step_index(order: Sequence[int], current: int, step: int) -> int:
    """The index ``step`` places after ``current`` in ``order`` (clamped to its ends); from an
    index not in ``order``, the first one."""
    if not order:
        return current
    if current not in order:
        return order[0]
    pos = min(max(order.index(current) + step, 0), len(order) - 1)
    return order[pos]


# --- views ------------------------------------------------------------------------------
def _rows(ctx: AppContext, version: str, *, include_partial: bool = True):
    return ctx.store.leaderboard(version, include_partial=include_partial)


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


@dataclass(frozen=True)
class ModelView:
    row: object
    details: str
    styles: pd.DataFrame
    best: pd.DataFrame | None
    worst: pd.DataFrame | None


def model_view(ctx: AppContext, version: str, choice: str) -> ModelView:
    row = find_row(_rows(ctx, version), choice)
    if row.kind != KIND_VERIFIED:
        return ModelView(row, "", style_table(row, None), None, None)
    sid = row.submission_id
    scores = ctx.store.image_scores(sid)
    best, worst = extreme_prompts(scores, ctx.store.prompts(sid))
    details = details_text(ctx.store.get_submission(sid))
    return ModelView(row, details, style_table(row, scores), best, worst)


def model_html(view: ModelView) -> str:
    row = view.row
    if row.rank is None:
        rank = texts.MODEL_UNRANKED
    elif row.rank_low is not None:
        rank = texts.MODEL_RANK_CI.format(rank=row.rank, low=row.rank_low, high=row.rank_high)
        rank += texts.MODEL_TIED if row.tied else ""
    else:
        rank = texts.MODEL_RANK.format(rank=row.rank)
    header = texts.MODEL_HEADER_HTML.format(
        model=esc(row.model), version=esc(row.version), kind=texts.BADGE.get(row.kind, row.kind),
        n=row.n_images, partial=texts.PARTIAL_MARK if row.partial else "", rank=rank,
    )  # fmt: skip
    parts = [header]
    link = link_html(row.link)
    if link:
        parts.append(f'<p class="hps-link">{link}</p>')
    if view.details:
        parts.append(f'<pre class="hps-details">{esc(view.details)}</pre>')
    if row.kind != KIND_VERIFIED:
        parts.append(f"<p>{texts.MODEL_REPORTED_ONLY}</p>")
    parts.append(frame_html(view.styles, numeric=("mean", "std", "n"), elem_id="model-styles"))
    if view.best is not None:
        parts.append('<div class="hps-two">')
        for frame, caption in ((view.best, texts.LABEL_BEST), (view.worst, texts.LABEL_WORST)):
            parts.append(frame_html(frame, numeric=("index", "score"), caption=caption,
                                    decimals={"score": 3}))  # fmt: skip
        parts.append("</div>")
    return "".join(parts)


def _prompt_index(value) -> int:
    """A prompt index from the form (a number); ConfigError for anything else."""
    if value is None or value == "":
        return 0
    number = value if isinstance(value, (int, float)) and not isinstance(value, bool) else None
    if number is None or not math.isfinite(number) or number != int(number):
        raise ConfigError(texts.BAD_PROMPT_INDEX.format(value=repr(value)[:40]))
    return int(value)


def link_html(link: str | None) -> str:
    """The model's link as an anchor that search engines do not credit and that cannot reach
    back into this page; nothing unless it is a plain http(s) URL."""
    if not is_safe_link(link):
        return ""
    href = html.escape(link, quote=True)
    return texts.MODEL_LINK.format(href=href, text=href)


def verified_id(ctx: AppContext, version: str, choice: str) -> int:
    """The submission id of a dropdown value, only if it is a complete verified row the
    leaderboard of ``version`` shows: these events can be called by anyone, and must not
    reach hidden, unfinished or partial submissions."""
    shown = {v for _, v in model_choices(_rows(ctx, version, include_partial=False),
                                         verified_only=True)}  # fmt: skip
    if choice not in shown:
        raise ConfigError(texts.NOT_A_VERIFIED_MODEL.format(choice=str(choice)[:40]))
    return int(choice.split(":", 1)[1])


def pair_view(
    ctx: AppContext, version: str, id_a: str, id_b: str, style: str, index
) -> tuple[list, str]:
    """Both models' images for one prompt, captioned with their scores; and the prompt.
    An index outside the style's prompts is a user error that gives the valid range."""
    if not id_a or not id_b:
        return [], ""
    if style not in STYLES:
        raise ConfigError(texts.UNKNOWN_STYLE.format(style=str(style)[:40]))
    index = _prompt_index(index)
    items, prompt = [], ""
    for side, choice in (("A", id_a), ("B", id_b)):
        sid = verified_id(ctx, version, choice)
        score = ctx.store.image_scores(sid).get(style, [])
        if not 0 <= index < len(score):
            raise ConfigError(
                texts.PROMPT_OUT_OF_RANGE.format(index=index, style=style, last=len(score) - 1)
            )
        value = score[index]
        prompt = prompt or _prompt(ctx.store.prompts(sid), style, index)
        path = image_path(ctx.store.submission_folder(sid), style, index)
        caption = texts.PAIR_CAPTION.format(side=side, id=sid, score=_fmt(value))
        items.append((str(path) if path else None, caption))
    return items, prompt


def error_html(exc: BaseException) -> str:
    """An error shown beside the last result (which stays on screen)."""
    if isinstance(exc, HPSError):
        message = str(exc)
    else:
        log.exception("unexpected error in a view")
        message = texts.INTERNAL_ERROR
    return f'<p class="hps-error" role="alert">{esc(message)}</p>'


def keep_on_error(fn: Callable, n_outputs: int) -> Callable:
    """Wrap a view callback whose last output is its error area: on failure every other
    output is left as it was (``gr.skip()``) and the error is shown."""

    def wrapper(*args):
        try:
            return (*fn(*args), "")
        except Exception as exc:  # noqa: BLE001 - user errors and bugs both shown beside
            return (*[gr.skip()] * n_outputs, error_html(exc))

    wrapper.__name__ = getattr(fn, "__name__", "view")
    return wrapper


# --- model tab --------------------------------------------------------------------------
@dataclass
class ModelTab:
    version: gr.Radio
    choice: gr.Dropdown
    view: gr.HTML
    error: gr.HTML

    def render(self, ctx: AppContext, version: str, choice: str | None) -> tuple:
        if not choice:
            return (f'<div class="hps-empty-state">{texts.MODEL_EMPTY}</div>',)
        return (model_html(model_view(ctx, version, choice)),)

    def restore(self, ctx: AppContext, state: ViewState) -> list:
        options = model_choices(_rows(ctx, state.version))
        values = {v for _, v in options}
        choice = state.model if state.model in values else None
        out = keep_on_error(lambda: self.render(ctx, state.version, state.model), 1)()
        return [state.version, gr.Dropdown(choices=options, value=choice), *out]

    @property
    def restore_outputs(self) -> list:
        return [self.version, self.choice, self.view, self.error]


def build_model_tab(ctx: AppContext, demo: gr.Blocks) -> ModelTab:
    with gr.Row():
        version = gr.Radio(list(VERSIONS), value=ctx.settings.version, label=texts.LABEL_VERSION,
                           elem_id="model-version", min_width=160)  # fmt: skip
        choice = gr.Dropdown([], label=texts.LABEL_PICK_MODEL, scale=3, elem_id="model-choice")
        copy = gr.Button(texts.BUTTON_COPY_LINK, size="sm", scale=0, elem_id="model-copy")
    error = gr.HTML("", elem_id="model-error")
    view = gr.HTML(f'<div class="hps-empty-state">{texts.MODEL_EMPTY}</div>', elem_id="model-view")
    tab = ModelTab(version, choice, view, error)

    def on_version(version):
        options = model_choices(_rows(ctx, version))
        return gr.Dropdown(choices=options, value=None), *tab.render(ctx, version, None)

    show = keep_on_error(lambda v, c: tab.render(ctx, v, c), 1)
    version.input(keep_on_error(on_version, 2), version, [choice, view, error],
                  api_visibility="private").then(
        None, version, None, js="(v) => hpsSetParams({version: v, model: ''})")  # fmt: skip
    choice.input(show, [version, choice], [view, error], api_visibility="private").then(
        None, [version, choice], None, js="(v, c) => hpsSetParams({version: v, model: c})"
    )
    copy.click(None, None, None, js=COPY_LINK_JS)
    return tab


# --- head-to-head tab -------------------------------------------------------------------
@dataclass
class HeadToHeadTab:
    version: gr.Radio
    model_a: gr.Dropdown
    model_b: gr.Dropdown
    summary: gr.HTML
    style: gr.Dropdown
    index: gr.Number
    largest: gr.Checkbox
    pair: gr.HTML
    error: gr.HTML
    image_a: gr.Image
    image_b: gr.Image

    def restore(self, ctx: AppContext, state: ViewState) -> list:
        options = model_choices(_rows(ctx, state.version, include_partial=False),
                                verified_only=True)  # fmt: skip
        values = {v for _, v in options}
        a = state.a if state.a in values else None
        b = state.b if state.b in values else None
        compared = keep_on_error(lambda: compare(ctx, state.version, a, b), 1)()
        pair = keep_on_error(
            lambda: show_pair(ctx, state.version, a, b, state.style, state.prompt), 4
        )()
        return [state.version, gr.Dropdown(choices=options, value=a),
                gr.Dropdown(choices=options, value=b), compared[0], state.style,
                *pair[:4], compared[1] or pair[4]]  # fmt: skip

    @property
    def restore_outputs(self) -> list:
        return [self.version, self.model_a, self.model_b, self.summary, self.style,
                self.pair, self.image_a, self.image_b, self.index, self.error]  # fmt: skip


def _name(ctx: AppContext, version: str, choice: str) -> str:
    return find_row(_rows(ctx, version, include_partial=False), choice).model


def compare(ctx: AppContext, version: str, a: str | None, b: str | None) -> tuple[str]:
    """The summary and table of two verified models, or what to do first."""
    if not a or not b:
        return (f'<div class="hps-empty-state">{texts.H2H_EMPTY}</div>',)
    if a == b:
        raise ConfigError(texts.PICK_TWO)
    ida, idb = verified_id(ctx, version, a), verified_id(ctx, version, b)
    name_a, name_b = _name(ctx, version, a), _name(ctx, version, b)
    table, summary = h2h_table(ctx.store.image_scores(ida), ctx.store.image_scores(idb),
                               name_a, name_b)  # fmt: skip
    numeric = texts.H2H_COLUMNS[1:]
    return (f'<p class="hps-summary">{esc(summary)}</p>' + frame_html(table, numeric=numeric),)


def show_pair(ctx, version: str, a, b, style, index) -> tuple:
    """(prompt and scores HTML, image A, image B, index) for one prompt of two models."""
    if not a or not b or a == b:
        return "", None, None, index if isinstance(index, int) else gr.skip()
    items, prompt = pair_view(ctx, version, a, b, style, index)
    index = _prompt_index(index)
    (path_a, cap_a), (path_b, cap_b) = items
    ids = [verified_id(ctx, version, x) for x in (a, b)]
    scores = [ctx.store.image_scores(sid)[style][index] for sid in ids]
    text = texts.PAIR_PROMPT.format(style=esc(style), index=index, prompt=esc(prompt))
    if None not in scores:
        text += texts.PAIR_SCORES.format(a=scores[0], b=scores[1], diff=scores[0] - scores[1])
    cap_a = f"{cap_a} · {_name(ctx, version, a)}"
    cap_b = f"{cap_b} · {_name(ctx, version, b)}"
    return text, gr.Image(value=path_a, label=cap_a), gr.Image(value=path_b, label=cap_b), index


def _order(ctx, version, a, b, style, largest: bool) -> list[int]:
    scores = [ctx.store.image_scores(verified_id(ctx, version, x)) for x in (a, b)]
    return prompt_order(*scores, style, largest_first=largest)


def build_head_to_head_tab(ctx: AppContext, demo: gr.Blocks) -> HeadToHeadTab:
    with gr.Row():
        version = gr.Radio(list(VERSIONS), value=ctx.settings.version, label=texts.LABEL_VERSION,
                           elem_id="h2h-version", min_width=160)  # fmt: skip
        model_a = gr.Dropdown([], label=texts.LABEL_MODEL_A, elem_id="h2h-a", min_width=200)
        model_b = gr.Dropdown([], label=texts.LABEL_MODEL_B, elem_id="h2h-b", min_width=200)
        copy = gr.Button(texts.BUTTON_COPY_LINK, size="sm", scale=0, elem_id="h2h-copy")
    error = gr.HTML("", elem_id="h2h-error")
    summary = gr.HTML(
        f'<div class="hps-empty-state">{texts.H2H_EMPTY}</div>', elem_id="h2h-summary"
    )
    with gr.Row():
        style = gr.Dropdown(list(STYLES), value=STYLES[0], label=texts.LABEL_STYLE, min_width=140)
        index = gr.Number(0, precision=0, minimum=0, label=texts.LABEL_PROMPT_INDEX,
                          elem_id="h2h-index", min_width=120)  # fmt: skip
        prev = gr.Button(texts.BUTTON_PREV, size="sm", elem_id="h2h-prev", min_width=80)
        nxt = gr.Button(texts.BUTTON_NEXT, size="sm", elem_id="h2h-next", min_width=80)
        largest = gr.Checkbox(False, label=texts.LABEL_LARGEST_FIRST, elem_id="h2h-largest")
    pair = gr.HTML("", elem_id="h2h-prompt")
    with gr.Row():
        image_a = gr.Image(None, label=texts.LABEL_MODEL_A, interactive=False, height=320,
                           elem_id="h2h-image-a", min_width=150)  # fmt: skip
        image_b = gr.Image(None, label=texts.LABEL_MODEL_B, interactive=False, height=320,
                           elem_id="h2h-image-b", min_width=150)  # fmt: skip
    tab = HeadToHeadTab(version, model_a, model_b, summary, style, index, largest, pair, error,
                        image_a, image_b)  # fmt: skip
    private = dict(api_visibility="private")
    push = "(v, a, b, s, i) => hpsSetParams({version: v, a: a, b: b, style: s, prompt: i})"
    url_inputs = [version, model_a, model_b, style, index]

    def on_version(version):
        options = model_choices(_rows(ctx, version, include_partial=False), verified_only=True)
        empty = f'<div class="hps-empty-state">{texts.H2H_EMPTY}</div>'
        return (gr.Dropdown(choices=options, value=None), gr.Dropdown(choices=options, value=None),
                empty, "", None, None)  # fmt: skip

    def on_models(version, a, b, style, index, largest):
        first = _first_index(ctx, version, a, b, style, largest)
        return (*compare(ctx, version, a, b), *show_pair(ctx, version, a, b, style, first))

    def on_pair(version, a, b, style, index, largest):
        return show_pair(ctx, version, a, b, style, index)

    def stepper(step):
        def on_step(version, a, b, style, index, largest):
            if not a or not b or a == b:
                raise ConfigError(texts.PICK_TWO)
            order = _order(ctx, version, a, b, style, largest)
            current = _prompt_index(index)
            return show_pair(ctx, version, a, b, style, step_index(order, current, step))

        return on_step

    pair_out = [pair, image_a, image_b, index, error]
    state_in = [version, model_a, model_b, style, index, largest]
    version.input(keep_on_error(on_version, 6), version,
                  [model_a, model_b, summary, pair, image_a, image_b, error], **private).then(
        None, url_inputs, None, js=push)  # fmt: skip
    for control in (model_a, model_b):
        control.input(keep_on_error(on_models, 5), state_in, [summary, *pair_out], **private).then(
            None, url_inputs, None, js=push)  # fmt: skip
    for control in (style, largest):
        control.input(keep_on_error(lambda *a: on_models(*a)[1:], 4), state_in, pair_out,
                      **private).then(None, url_inputs, None, js=push)  # fmt: skip
    index.submit(keep_on_error(on_pair, 4), state_in, pair_out, **private).then(
        None, url_inputs, None, js=push
    )
    for button, step in ((prev, -1), (nxt, 1)):
        button.click(keep_on_error(stepper(step), 4), state_in, pair_out, **private).then(
            None, url_inputs, None, js=push)  # fmt: skip
    copy.click(None, None, None, js=COPY_LINK_JS)
    return tab


def _first_index(ctx, version, a, b, style, largest) -> int:
    """Where a new pair starts: prompt 0, or the largest disagreement."""
    if not largest or not a or not b or a == b:
        return 0
    order = _order(ctx, version, a, b, style, True)
    return order[0] if order else 0
