"""The web app's settings: where it listens, its queue, admin access (on top of all below)."""

from __future__ import annotations

from dataclasses import dataclass

from scorer.settings import (
    parse_bool,
    parse_optional_str,
    parse_positive_float,
    parse_positive_int,
    setting,
)
from submissions.settings import SubmissionSettings


@dataclass(frozen=True)
class AppSettings(SubmissionSettings):
    worker: bool = setting(True, parse_bool, "Run one scoring worker inside the app process.")
    host: str = setting(
        "127.0.0.1",
        str.strip,
        "Address the web app listens on. Unset: GRADIO_SERVER_NAME (a Space sets 0.0.0.0), "
        "else 127.0.0.1.",
    )
    port: int = setting(
        7860,
        parse_positive_int,
        "Port the web app listens on. Unset: GRADIO_SERVER_PORT, else 7860.",
    )
    storage_root: str = setting(
        "/data",
        str.strip,
        "Persistent storage (on a Hugging Face Space: a storage bucket mounted read-write). "
        "On a Space (SPACE_ID set) or when set, if it is a writable folder and HPS_DATA_DIR / "
        "HPS_HUB_CACHE are unset, the data dir is `<root>/hps` and the hub cache "
        "`<root>/.huggingface/hub`.",
    )
    backup_interval_s: float = setting(
        600.0,
        parse_positive_float,
        "Seconds between scheduled database backups to HPS_BACKUP_REPO (one is also made "
        "after each finished job).",
    )
    admin_token: str | None = setting(
        None,
        parse_optional_str,
        "Token that unlocks admin actions (hide, delete, rescore). Unset: admin actions are off.",
    )
    admin_max_failures: int = setting(
        5,
        parse_positive_int,
        "Wrong admin tokens one client address may send per `HPS_ADMIN_WINDOW_S`; after that "
        "its admin actions are refused until the window has passed.",
    )
    admin_window_s: float = setting(
        60.0,
        parse_positive_float,
        "Seconds over which wrong admin tokens are counted per client address.",
    )
    cache_max_age_s: int = setting(
        3600,
        parse_positive_int,
        "Seconds Gradio's file cache (uploaded images, downloads) keeps a file before it is "
        "deleted; the cache is swept every 10 minutes or this often if sooner, and emptied "
        "when the app stops. Submission uploads are deleted as soon as they are validated.",
    )
    max_score_images: int = setting(
        32,
        parse_positive_int,
        "Most images one live Score request may hold (live scoring runs one request at a time).",
    )
    queue_size: int = setting(
        64,
        parse_positive_int,
        "Most requests the web app holds waiting in its queue; more are refused as busy.",
    )
    export_max_age_s: float = setting(
        3600.0,
        parse_positive_float,
        "Seconds an exported CSV is kept for download; older exports are deleted.",
    )
