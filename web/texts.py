"""Every user-facing string of the web app, in one place.

Strings that take values use ``str.format`` fields; values that come from users (model
names, notes, file names) are escaped by the caller before they reach Markdown.
"""

from __future__ import annotations

from leaderboard import KIND_REPORTED, KIND_VERIFIED

TITLE = "HPS v2 Leaderboard"
HEADER = (
    "# HPS v2 Leaderboard\n"
    "Text-to-image models scored with **Human Preference Score v2** "
    "([Wu et al. 2023](https://arxiv.org/abs/2306.09341)) on the 3,200 benchmark prompts "
    "(anime, concept-art, paintings, photo; 800 each). Score your own images, compare two, "
    "or submit a model's benchmark images."
)

# --- tabs ---------------------------------------------------------------------------
TAB_LEADERBOARD = "Leaderboard"
TAB_SCORE = "Score images"
TAB_COMPARE = "Compare two"
TAB_SUBMIT = "Submit"
TAB_MODEL = "Model"
TAB_HEAD_TO_HEAD = "Head-to-head"
TAB_ABOUT = "About"
TAB_REPRODUCTION = "Reproduction"

# --- errors -------------------------------------------------------------------------
ERROR_TITLE = "Cannot do that"
INTERNAL_ERROR_TITLE = "Internal error"
INTERNAL_ERROR = (
    "Something went wrong on the server. The error was logged; please try again or report it."
)
NO_IMAGES = "no images: upload one or more images to score"
TOO_MANY_IMAGES = (
    "{n} images in one request: at most {limit} at a time; "
    "for a whole benchmark, use the Submit tab"
)
NO_IMAGE_A = "image A is missing: upload the two images to compare"
NO_IMAGE_B = "image B is missing: upload the two images to compare"
NO_UPLOAD = "nothing uploaded: give a zip file, the four style folders or a hub reference"
BOTH_UPLOADS = "give one of a zip file, style folders or a hub reference, not several"
ADMIN_OFF = "admin actions are off: the server has no HPS_ADMIN_TOKEN set"
ADMIN_DENIED = "wrong admin token"
ADMIN_THROTTLED = "too many wrong admin tokens from this address: try again in {wait} s"
NO_SUBMISSION = "choose a submission id first"
BAD_SUBMISSION_ID = "submission id {value} is not a submission number (a whole number from 1)"
PICK_TWO = "pick two different verified models"

# --- scorer status ------------------------------------------------------------------
SCORER_READY = "**Scorer ready:** HPS {version}, {arch}, {precision} on {device}."
SCORER_NOT_LOADED = "HPS {version} loads on first use (a few seconds; longer if it must download)."
SCORER_UNAVAILABLE = (
    "**Scoring is not available for HPS {version} on this server right now**: its model "
    "checkpoint could not be loaded. The leaderboard, the model views and head-to-head work "
    "as usual. (Running this server? See *For operators* in the About tab.)"
)

# --- score tab ----------------------------------------------------------------------
SCORE_INTRO = (
    "Upload one or more images and the prompt they were generated from. Each image gets an "
    "HPS score; the gallery shows them best first."
)
SCALE_EXPLAINED = (
    "**The scale.** Score = 100 x cosine similarity of the image and prompt embeddings. "
    "Typical values lie between about 20 and 35. Scores are comparable only for the same "
    "prompt and the same HPS version: a 28 for one prompt and a 27 for another say nothing "
    "about which image is better."
)
LABEL_IMAGES = "Images"
LABEL_PROMPT = "Prompt"
PLACEHOLDER_PROMPT = "the text the images were generated from"
LABEL_VERSION = "HPS version"
BUTTON_SCORE = "Score"
LABEL_RANKED = "Ranked, best first"
LABEL_SCORES = "Scores"
LABEL_RAW = "Result as JSON (what the API returns)"
SCORE_CAPTION = "#{rank}  {score:.2f}  {name}"
SCORE_COLUMNS = ["rank", "image", "score"]

# --- compare tab --------------------------------------------------------------------
COMPARE_INTRO = (
    "Two images for one prompt: which one would people prefer? The probability is the "
    "model's own training objective, sigmoid(logit scale x (cos A - cos B))."
)
LABEL_IMAGE_A = "Image A"
LABEL_IMAGE_B = "Image B"
BUTTON_COMPARE = "Compare"
LABEL_PREFERENCE = "Preference probability"
COMPARE_VERDICT = (
    "**HPS {version} prefers image {preferred}** with probability {prob:.1%}.\n\n"
    "| | score |\n|---|---|\n| A | {score_a:.2f} |\n| B | {score_b:.2f} |"
)

# --- leaderboard tab ----------------------------------------------------------------
LB_INTRO = (
    "Mean ± std per style, in the official protocol (chunks of 80 prompts; std of the chunk "
    "means). **reported**: numbers published by the HPS v2 authors; **verified**: images "
    "scored here. Versions are never mixed: switch between them above the table. "
    "*reproduction*: a published row and its verified twin, Δ = verified − reported."
)
LABEL_SEARCH = "Search models"
PLACEHOLDER_SEARCH = "part of a model name"
LABEL_VERIFIED_ONLY = "Verified only"
LABEL_SHOW_PARTIAL = "Show partial submissions (never ranked)"
LABEL_COLUMNS = "Columns"
LABEL_FILTERS = "Search and filters"
LABEL_TABLE = "Leaderboard"
BUTTON_CSV = "Download CSV"
LABEL_DOTS = "Means with 95% intervals"
LABEL_DISTRIBUTION = "Per-image scores of verified models"
LB_EMPTY = "No rows to show in this version yet."
LB_NO_MATCH = (
    "No model matches <b>{q}</b>{filters}. Clear the search or the filters to see every row."
)
LB_NO_MATCH_FILTERS = " with the filters chosen"
LB_COUNT = "{shown} of {total} models · HPS {version} · sorted by {sort}"
BADGE = {KIND_VERIFIED: "✔ verified", KIND_REPORTED: "reported"}
PARTIAL_MARK = " (partial)"
PARTIAL_BADGE = "partial"
CUSTOM_PROMPTS_MARK = " · custom prompts"  # scored on prompt lists other than the benchmark's
CUSTOM_PROMPTS_BADGE = "custom prompts"
COL_RANK = "Rank"
COL_MODEL = "Model"
COL_IMAGES = "Images"
COL_DATE = "Date"
COL_REPRODUCTION = "Reproduction"
RANK_CI = "{low}–{high}"
TIED = "tied"
NO_CI = "no interval"
REPORTED_SOURCE = "HPS v2 paper"
TIP_REPORTED_SOURCE = "Published in the HPS v2 paper and its repository README."
TIP_RANK_CI = (
    "Rank by Averaged. Under it, for verified models: the 95% interval of the rank over "
    "bootstrap resamples of the images; 'tied' means it overlaps another model's interval."
)
TIP_NO_CI = "Published numbers: no per-image scores, so no interval."
TIP_UNRANKED = "Partial submissions are never ranked."
FIG_DOTS_TITLE = "HPS {version} · top {n} by rank"
FIG_DOTS_LEGEND_VERIFIED = "verified (filled, 95% interval)"
FIG_DOTS_LEGEND_REPORTED = "reported (open, no interval)"
FIG_DIST_TITLE = "HPS {version} · verified models"
FIG_NO_DATA = "No models to plot"
AXIS_SCORE = "HPS score"
AXIS_STYLE = "style"

# --- reproduction (a published row beside its verified twin) ------------------------
REPRODUCED = "✔ reproduced"
NOT_REPRODUCED = "⚠ differs"
WORST = " (most: {style} {diff:+.2f})"
REPRO_DIFF = "{column} {diff}"
REPRO_CELL = "{mark} · Δ {diffs}"  # Δ = verified − reported
PAIR_CELL = "{reported} → {verified} ({diff})"
REPRO_INTRO = (
    "Each **reported** row (the figures published by the HPS v2 authors) beside its "
    "**verified** twin: the authors' own benchmark images of that model, fetched from the hub "
    "dataset `zhwang/HPDv2` and scored here. Cells read *reported → verified (difference)*."
)
REPRO_TABLE = "Reported and verified, per style"
REPRO_SUMMARY = (
    "HPS {version}: **{pairs}** of {published} published rows have a verified twin; "
    "**{reproduced}** reproduced (every style within {within:g})."
)
LABEL_REPRO_PLOT = "Verified against reported"
FIG_REPRO_TITLE = "HPS {version}: verified vs reported (on the line: reproduced exactly)"
AXIS_REPORTED = "reported (published)"
AXIS_VERIFIED = "verified (scored here)"
REPRO_ADMIN_INTRO = (
    "Fetch the published models' benchmark images from `zhwang/HPDv2` and queue them for "
    "scoring on the chosen version (none chosen: every published model)."
)
LABEL_REPRO_MODELS = "Published models"
BUTTON_REPRODUCE = "Reproduce"
REPRO_QUEUED = "queued"
REPRO_DUPLICATE = "already submitted (identical images): nothing scored again"
REPRO_REFUSED = "{model}: refused: {error}"

# --- submit tab ---------------------------------------------------------------------
SUBMIT_INTRO = (
    "Submit one image per benchmark prompt: `anime/`, `concept-art/`, `paintings/`, "
    "`photo/`, each holding `00000.jpg` ... `00799.jpg` (jpg, jpeg, png or webp), named by "
    "the prompt's index. Upload them as one zip, or pick the four folders. The upload is "
    "validated at once; scoring runs on the server and keeps going if you close the page. "
    "Upload limit: {max_mb} MiB. Large submissions: put the folder or archive (zip, tar, "
    "tar.gz) in a hub dataset and give its reference instead of uploading."
)
LABEL_HUB_REF = "Or a hub dataset reference"
PLACEHOLDER_HUB_REF = "hf://datasets/<owner>/<name>[@<revision>][/<path to folder or archive>]"
LABEL_ZIP = "Benchmark zip (or tar, tar.gz)"
LABEL_FOLDER = "Folder: {style}"
LABEL_MODEL = "Model name"
LABEL_LINK = "Link (paper, code or model card)"
LABEL_ORG = "Organisation"
LABEL_NOTES = "Notes"
LABEL_PARTIAL = "Accept as partial if images are missing (shown, never ranked)"
BUTTON_SUBMIT = "Validate and submit"
LABEL_REPORT = "Validation report"
LABEL_PROGRESS = "Progress"
LABEL_QUEUE = "Queue"
BUTTON_REFRESH = "Refresh"
SUBMIT_ACCEPTED = "Submission #{id} accepted: {status}."
SUBMIT_DUPLICATE = (
    "These images were already submitted as #{id} (same content, version and checkpoint): "
    "showing that result instead of scoring them twice."
)
PROGRESS_LINE = "Submission #{id}: {status}, {done} / {total} images{rate}{eta}"
PROGRESS_RATE = ", {rate:.1f} images/s"
PROGRESS_ETA = ", about {eta} left"
PROGRESS_NONE = (
    "Nothing to follow yet: submit above, or type the number of an earlier submission "
    "(shown in its report and in the queue below) to follow it."
)
LABEL_JOB_ID = "Follow submission id"
QUEUE_COLUMNS = ["id", "model", "version", "status", "images", "submitted", "error"]
ADMIN_TITLE = "Admin"
LABEL_ADMIN_TOKEN = "Admin token"
LABEL_ADMIN_ID = "Submission id"
BUTTON_HIDE = "Hide"
BUTTON_UNHIDE = "Unhide"
BUTTON_DELETE = "Delete"
BUTTON_RESCORE = "Retry / rescore"
ADMIN_DONE = "Done: {action} submission #{id}."
HIDDEN_MARK = " (hidden)"
LABEL_ADMIN_QUEUE = "Every submission, hidden ones included"
BUTTON_CONFIRM_DELETE = "Yes, delete it"
BUTTON_CANCEL = "Cancel"
CONFIRM_DELETE = (
    "**Delete submission #{id} ({model})?** Its scores and stored images are removed for "
    "good. To take it off the leaderboard but keep it, use Hide instead."
)
PROGRESS_LINKS = (
    '<p class="hps-done-links">Scored. See <a href="{model}">its model view</a> or '
    '<a href="{row}">its row on the leaderboard</a>.</p>'
)

# --- model and head-to-head ---------------------------------------------------------
LABEL_PICK_MODEL = "Model"
BUTTON_COPY_LINK = "Copy link"
LINK_COPIED = "Link copied"
NO_SUCH_MODEL = "no model {choice!r} in this version's leaderboard: pick one from the list"
MODEL_EMPTY = (
    "<h3>Pick a model</h3><p>Choose a model above, or click a model's name in the "
    "Leaderboard, to see its per-style results with 95% intervals and, for verified models, "
    "the prompts it did best and worst on.</p>"
)
MODEL_HEADER_HTML = (
    '<div class="hps-model-head"><h2>{model}</h2>'
    "<p>HPS {version} · {kind} · {n} images{partial} · {rank}</p></div>"
)
MODEL_RANK = "rank {rank}"
MODEL_RANK_CI = "rank {rank} (95% interval {low}–{high})"
MODEL_TIED = ", statistically tied with a neighbour"
MODEL_UNRANKED = "not ranked (partial)"
NOT_A_VERIFIED_MODEL = (
    "{choice} is not a verified model of this leaderboard: pick one from the list"
)
UNKNOWN_STYLE = "unknown style {style}"
BAD_PROMPT_INDEX = "prompt index {value} is not a whole number"
MODEL_LINK = '<a href="{href}" rel="nofollow noopener noreferrer" target="_blank">{text}</a>'
MODEL_STYLE_COLUMNS = ["style", "mean", "std", "95% CI of mean", "n"]
LABEL_BEST = "Best prompts"
LABEL_WORST = "Worst prompts"
PROMPT_COLUMNS = ["style", "index", "prompt", "score"]
MODEL_REPORTED_ONLY = "Reported rows have no per-image scores; only verified models do."
LABEL_MODEL_A = "Model A"
LABEL_MODEL_B = "Model B"
BUTTON_H2H = "Compare models"
H2H_COLUMNS = ["style", "A wins", "win 95% CI", "mean diff (A-B)", "diff 95% CI", "prompts"]
LABEL_STYLE = "Style"
LABEL_PROMPT_INDEX = "Prompt index"
LABEL_PAIR = "Both images for this prompt"
PAIR_CAPTION = "{side} (#{id}): {score}"  # no user text: captions may render markup
H2H_SUMMARY = (
    "Overall, {a} (A) scores higher than {b} (B) on {win:.1%} of prompts "
    "(95% CI {lo:.1%} to {hi:.1%})."
)
H2H_NO_SHARED = "These two models have no scored prompt in common."
H2H_EMPTY = (
    "<h3>Pick two verified models</h3><p>Choose model A and model B above. You will see how "
    "often A scores higher than B per style, with 95% intervals, and can page through both "
    "images of each prompt, largest disagreements first if you like.</p>"
)
PROMPT_OUT_OF_RANGE = "There is no prompt {index} in {style}: this style has prompts 0 to {last}."
PAIR_SCORES = '<p class="hps-pair-scores">A {a:.2f} · B {b:.2f} · A − B {diff:+.2f}</p>'
PAIR_PROMPT = '<p class="hps-prompt"><b>{style} #{index}</b>: {prompt}</p>'
BUTTON_PREV = "◀ Previous"
BUTTON_NEXT = "Next ▶"
LABEL_LARGEST_FIRST = "Largest disagreements first"

# --- hosting and backups -------------------------------------------------------------
STORAGE_EPHEMERAL = (
    "This Space has no persistent storage ({root} is not a writable folder): results are "
    "lost on restart; attach storage or set a backup repo (HPS_BACKUP_REPO)."
)
STORAGE_BACKED_UP = (
    "This Space has no persistent storage: the database (scores, submissions) is backed up "
    "to the hub dataset {repo} and restored at start; uploaded images are lost on restart."
)
BACKUP_TITLE = "Storage and backups"
BACKUP_NONE = "No backup repo set (HPS_BACKUP_REPO)."
BACKUP_NEVER = "Backups to {repo}: none yet."
BACKUP_OK = "Last backup to {repo}: {when} ({reason})."
BACKUP_FAILED = "Backup to {repo} FAILED at {when}: {error}"
BACKUP_RESTORED = "Restored at start from {repo}."
BACKUP_RESTORE_FAILED = "Restore from {repo} at start failed: {error}"

# --- about --------------------------------------------------------------------------
ABOUT = """
## What is measured
**HPS v2** (Human Preference Score v2) is an OpenCLIP ViT-H-14 fine-tuned on HPD v2, 798k
human choices between generated images. It predicts which of several images for one prompt
people prefer. The score of an image for a prompt is **100 × the cosine similarity** of the
L2-normalised image and prompt embeddings.

## The protocol
- 3,200 prompts from the HPD v2 benchmark: 800 each for *anime*, *concept-art*, *paintings*
  and *photo*. One image per prompt, named by the prompt's index.
- Images are converted to RGB, resized so the longest side is 224 (bicubic), padded to
  224 × 224 and normalised exactly as the official evaluation does.
- Per style, the 800 scores in prompt order are split into 10 chunks of 80; the **mean** is
  the mean of the chunk means and the **±** is the population standard deviation of the chunk
  means. **Averaged** is the mean of the four style means. Rank follows Averaged.
- Incomplete submissions may be stored as *partial*: shown on request, never ranked.

## How to read the numbers
- A difference of a few tenths between models is often within the noise: look at the
  confidence intervals in the model and head-to-head views.
- Scores are comparable only **for the same prompt and the same version**.
- **v2.0 and v2.1 are different models**: their numbers are on different scales and are
  never mixed in one table. v2.1 is the default.
- **reported** rows are the figures published by the HPS v2 authors; **verified** rows were
  scored here from submitted images with the checkpoint whose sha256 is recorded.

## Reproductions of the published rows
The HPS v2 authors published the benchmark images of the models in their tables, one archive
per model, in the hub dataset `zhwang/HPDv2` (`benchmark/benchmark_imgs/<abbr>.tar.gz`).
A reproduction fetches a model's archive at a pinned commit, scores it here exactly as any
submission, and files it under the published model's name: the verified row is the *twin* of
the reported one. The leaderboard shows the difference (verified − reported) per style and
Averaged, marked **reproduced** when every style is within 0.1 (`HPS_REPRODUCED_WITHIN`),
and flagged otherwise; the
Reproduction tab lists every pair with a plot of verified against reported.

A difference does not by itself mean either number is wrong. It can come from:
- **the images**: the published archives hold JPEGs, re-encoded from what was first scored;
  any re-encoding moves the scores a little;
- **the arithmetic**: the official evaluation runs fp16 on a GPU; scores move by a few
  hundredths between fp16, bf16 and fp32 (each result records its precision);
- **the version**: v2.0 and v2.1 are different checkpoints; a row is only compared with the
  published table of its own version;
- **the prompts**: the benchmark prompt lists are fixed; a row scored on other lists is
  marked *custom prompts*, and its differences mean nothing.

## For operators
- **Scoring unavailable**: the reason is in the server log. Provide the checkpoint with
  `HPS_CHECKPOINT=/path/to/the.pt` (the checkpoint of `HPS_VERSION`; other versions come from
  the hub model repo `xswu/HPSv2`) and, for a non-standard architecture, `HPS_ARCH` (an
  open_clip model name or a model-config JSON), then restart the app.
- **Admin actions** (hide, unhide, delete, rescore) need `HPS_ADMIN_TOKEN` set on the server;
  `HPS_MAX_SCORE_IMAGES` limits one live Score request. Every setting is listed in the
  README.

## Citation
```
@article{wu2023human,
  title   = {Human Preference Score v2: A Solid Benchmark for Evaluating Human
             Preferences of Text-to-Image Synthesis},
  author  = {Wu, Xiaoshi and Hao, Yiming and Sun, Keqiang and Chen, Yixiong and
             Zhu, Feng and Zhao, Rui and Li, Hongsheng},
  journal = {arXiv preprint arXiv:2306.09341},
  year    = {2023}
}
```
Paper: https://arxiv.org/abs/2306.09341 · Code and weights: https://github.com/tgxs002/HPSv2
"""


def md_escape(text: object) -> str:
    """User text safe inside Markdown: no HTML, no markup, one line."""
    out = str(text).replace("\r", " ").replace("\n", " ")
    out = out.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    for ch in "\\`*_{}[]()#+!|~":
        out = out.replace(ch, "\\" + ch)
    return out


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
