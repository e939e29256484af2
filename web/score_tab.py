"""Score tab: one prompt, one or many images -> scores and a ranked gallery; and the
Compare tab: two images -> both scores and the preference probability."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import gradio as gr
import pandas as pd

from scorer.errors import ConfigError
from scorer.pool import ScorerPool
from scorer.settings import VERSIONS

from . import texts
from .components import UploadedFile
from .errors import user_errors

SCORING = "scoring"  # concurrency group: live requests run one at a time


def _path(file) -> str:
    return str(getattr(file, "name", file))


def score_images(pool: ScorerPool, files: Sequence, prompt: str, version: str) -> dict:
    """Score ``files`` against ``prompt``: a JSON-able result; ``scores`` in input order,
    ``ranking`` best first (``index``: position in the input)."""
    if not files:
        raise ConfigError(texts.NO_IMAGES)
    limit = pool.settings.max_score_images
    if len(files) > limit:
        raise ConfigError(texts.TOO_MANY_IMAGES.format(n=len(files), limit=limit))
    paths = [_path(f) for f in files]
    names = [Path(p).name for p in paths]
    scorer = pool.get(version)
    ranked = scorer.rank(paths, prompt, names=names)
    return {
        "version": scorer.version,
        "prompt": prompt,
        "scores": scorer_scores(ranked, len(paths)),
        "ranking": [
            {"rank": r + 1, "index": item.index, "image": names[item.index], "score": item.score}
            for r, item in enumerate(ranked)
        ],
    }


def scorer_scores(ranked, n: int) -> list[float]:
    """Scores aligned with the input order."""
    out = [0.0] * n
    for item in ranked:
        out[item.index] = item.score
    return out


def score_views(result: dict, files: Sequence) -> tuple[list, pd.DataFrame]:
    """Gallery items (best first, captioned) and table of a :func:`score_images` result."""
    paths = [_path(f) for f in files]
    gallery = [
        (
            paths[row["index"]],
            texts.SCORE_CAPTION.format(rank=row["rank"], score=row["score"], name=row["image"]),
        )
        for row in result["ranking"]
    ]
    table = pd.DataFrame(
        [[row["rank"], row["image"], round(row["score"], 4)] for row in result["ranking"]],
        columns=texts.SCORE_COLUMNS,
    )
    return gallery, table


def compare_images(pool: ScorerPool, image_a, image_b, prompt: str, version: str) -> dict:
    if not image_a:
        raise ConfigError(texts.NO_IMAGE_A)
    if not image_b:
        raise ConfigError(texts.NO_IMAGE_B)
    scorer = pool.get(version)
    c = scorer.compare(_path(image_a), _path(image_b), prompt)
    return {
        "version": scorer.version,
        "score_a": c.score_a,
        "score_b": c.score_b,
        "prob_a": c.prob_a,
        "preferred": c.preferred,
    }


def compare_views(result: dict) -> tuple[dict, str]:
    label = {"A": result["prob_a"], "B": 1.0 - result["prob_a"]}
    prob = result["prob_a"] if result["preferred"] == "A" else 1.0 - result["prob_a"]
    verdict = texts.COMPARE_VERDICT.format(prob=prob, **result)
    return label, verdict


def scorer_status(pool: ScorerPool, version: str) -> str:
    """Markdown saying whether ``version`` can score, and how to make it so."""
    scorer = pool.loaded(version)
    if scorer is not None:
        return texts.SCORER_READY.format(
            version=version, arch=scorer.arch, precision=scorer.precision, device=scorer.device
        )
    error = pool.last_error(version)
    if error is not None:
        return texts.SCORER_UNAVAILABLE.format(version=version, error=texts.md_escape(error))
    return texts.SCORER_NOT_LOADED.format(version=version)


def _version_choice(default: str) -> gr.Radio:
    return gr.Radio(list(VERSIONS), value=default, label=texts.LABEL_VERSION)


def build_score_tab(pool: ScorerPool) -> gr.Markdown:
    gr.Markdown(texts.SCORE_INTRO)
    status = gr.Markdown()
    with gr.Row():
        with gr.Column():
            files = UploadedFile(
                file_count="multiple",
                file_types=["image"],
                label=texts.LABEL_IMAGES,
                elem_id="score-files",
            )
            prompt = gr.Textbox(
                label=texts.LABEL_PROMPT,
                placeholder=texts.PLACEHOLDER_PROMPT,
                elem_id="score-prompt",
            )
            version = _version_choice(pool.settings.version)
            button = gr.Button(texts.BUTTON_SCORE, variant="primary", elem_id="score-button")
            gr.Markdown(texts.SCALE_EXPLAINED)
        with gr.Column():
            gallery = gr.Gallery(
                label=texts.LABEL_RANKED, columns=3, height="auto", elem_id="score-gallery"
            )
            table = gr.Dataframe(
                elem_id="score-table",
                label=texts.LABEL_SCORES,
                datatype=["number", "str", "number"],
                interactive=False,
            )
            with gr.Accordion(texts.LABEL_RAW, open=False):
                raw = gr.JSON()

    @user_errors
    def on_score(files, prompt, version):
        result = score_images(pool, files, prompt, version)
        return *score_views(result, files), result, scorer_status(pool, version)

    button.click(
        on_score,
        [files, prompt, version],
        [gallery, table, raw, status],
        api_name="score",
        concurrency_id=SCORING,
        concurrency_limit=1,
    )
    version.change(lambda v: scorer_status(pool, v), version, status, api_visibility="private")
    return status


def build_compare_tab(pool: ScorerPool) -> gr.Markdown:
    gr.Markdown(texts.COMPARE_INTRO)
    status = gr.Markdown()
    with gr.Row():
        # gr.File, not gr.Image: gr.Image decodes and re-encodes the upload, so a 16-bit PNG,
        # a CMYK JPEG or a palette PNG would be scored as Gradio re-saved it. The scorer gets
        # the uploaded bytes, as in the Score tab and the CLI.
        image_a = UploadedFile(
            file_types=["image"], type="filepath", label=texts.LABEL_IMAGE_A, elem_id="compare-a"
        )
        image_b = UploadedFile(
            file_types=["image"], type="filepath", label=texts.LABEL_IMAGE_B, elem_id="compare-b"
        )
    with gr.Row():
        with gr.Column():
            prompt = gr.Textbox(label=texts.LABEL_PROMPT, placeholder=texts.PLACEHOLDER_PROMPT)
            version = _version_choice(pool.settings.version)
            button = gr.Button(texts.BUTTON_COMPARE, variant="primary")
        with gr.Column():
            bar = gr.Label(label=texts.LABEL_PREFERENCE, num_top_classes=2)
            verdict = gr.Markdown()
            with gr.Accordion(texts.LABEL_RAW, open=False):
                raw = gr.JSON()

    @user_errors
    def on_compare(image_a, image_b, prompt, version):
        result = compare_images(pool, image_a, image_b, prompt, version)
        return *compare_views(result), result, scorer_status(pool, version)

    button.click(
        on_compare,
        [image_a, image_b, prompt, version],
        [bar, verdict, raw, status],
        api_name="compare",
        concurrency_id=SCORING,
        concurrency_limit=1,
    )
    version.change(lambda v: scorer_status(pool, v), version, status, api_visibility="private")
    return status
