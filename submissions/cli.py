"""``python -m submissions submit|reproduce|status|worker``. Settings come from the environment
(``HPS_*``); flags override them. User errors: the message on stderr and exit status 2."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from leaderboard import Store
from leaderboard import models as m
from scorer.errors import HPSError
from scorer.settings import VERSIONS

from .hub import is_hub_ref
from .report import SubmissionRejected
from .reproduce import queue_reproductions
from .settings import SubmissionSettings
from .submit import InvalidSubmission, load_benchmark_prompts, submit
from .worker import Worker


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m submissions", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser(
        "submit", help="validate a benchmark archive, folder or hub reference and queue it"
    )
    p.add_argument(
        "path",
        help="zip/tar/tar.gz file or folder (<style>/<00000>.<jpg|jpeg|png|webp>), or a hub "
        "reference hf://datasets/<owner>/<name>[@<revision>][/<path>] to such a folder or archive",
    )
    p.add_argument("--model", required=True, help="model name shown on the leaderboard")
    p.add_argument("--version", choices=VERSIONS, help="HPS version (default HPS_VERSION)")
    p.add_argument("--partial", action="store_true", help="accept an incomplete submission")
    p.add_argument("--wait", action="store_true", help="score it here and wait for the result")
    p.add_argument("--link", help="model URL")
    p.add_argument("--organisation", help="who made the model")
    p.add_argument("--notes", help="free text shown with the model")
    p.add_argument("--prompts", help="benchmark prompts (default HPS_PROMPTS)")
    p.add_argument("--json", action="store_true", help="print the result as JSON")

    p = sub.add_parser(
        "reproduce",
        help="score the published models' benchmark images (hub dataset zhwang/HPDv2) and "
        "link each verified result to its published row",
    )
    p.add_argument("--version", choices=VERSIONS, help="HPS version (default HPS_VERSION)")
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--model",
        action="extend",
        nargs="+",
        help="published model names or archive abbreviations (one or more; may repeat)",
    )
    which.add_argument("--all", action="store_true", help="every published model of the version")
    p.add_argument("--revision", help="dataset revision (default: its main branch)")
    p.add_argument("--no-wait", action="store_true", help="queue only; a worker scores them")
    p.add_argument("--prompts", help="benchmark prompts (default HPS_PROMPTS)")
    p.add_argument("--json", action="store_true", help="print the pairs as JSON")

    p = sub.add_parser("status", help="one submission's progress, or the queue")
    p.add_argument("id", nargs="?", type=int)
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("worker", help="run a scoring worker until SIGINT/SIGTERM")
    p.add_argument("--once", action="store_true", help="exit when the queue is empty")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    try:
        settings = SubmissionSettings.from_env()
        if getattr(args, "prompts", None):
            settings = settings.replace(prompts=args.prompts)
        with Store.open(settings) as store:
            return COMMANDS[args.command](store, settings, args)
    except SubmissionRejected as exc:
        print(exc.report.as_text(), file=sys.stderr)
        return 2
    except HPSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _submit(store: Store, settings: SubmissionSettings, args) -> int:
    if not is_hub_ref(args.path) and not Path(args.path).exists():
        raise InvalidSubmission(
            f"{args.path!r} does not exist (give an archive, a folder or an hf://datasets/ "
            "reference)"
        )
    result = submit(
        store,
        args.path,
        model=args.model,
        link=args.link,
        organisation=args.organisation,
        notes=args.notes,
        version=args.version,
        partial=args.partial,
        settings=settings,
        prompts=load_benchmark_prompts(settings),
    )
    if not args.json:
        print(result.report.as_text())
        state = "already submitted" if result.duplicate else "queued"
        print(f"submission #{result.submission_id}: {state} ({result.status})")
    if args.wait:
        _wait(store, settings, result.submission_id, quiet=args.json)
    info = store.get_submission(result.submission_id)
    if args.json:
        out = {
            "submission_id": result.submission_id,
            "status": info.status,
            "duplicate": result.duplicate,
            "report": result.report.as_dict(),
        }
        print(json.dumps(out, indent=2))
    elif info.status == m.DONE:
        _print_result(store, result.submission_id)
    return 0 if info.status != m.FAILED else 1


def _wait(store: Store, settings: SubmissionSettings, submission_id: int, *, quiet: bool) -> None:
    """Score queued jobs here until this one ends (another worker may take it first)."""
    worker = Worker(store, settings)
    while store.get_submission(submission_id).status not in m.FINISHED:
        if not worker.run_once():
            progress = store.progress(submission_id)
            if not quiet:
                print(f"  {progress.status}: {progress.done}/{progress.total}", file=sys.stderr)
            threading.Event().wait(settings.worker_poll_s)


def _print_result(store: Store, submission_id: int) -> None:
    info = store.get_submission(submission_id)
    for row in store.leaderboard(info.version, include_partial=True, verified_only=True):
        if row.submission_id == submission_id:
            for style, st in row.styles.items():
                if st and st.mean is not None:
                    print(f"  {style:12s} {st.mean:8.3f} +- {st.std:.3f}  (n={st.n})")
            if row.averaged is not None:
                print(f"  {'Averaged':12s} {row.averaged:8.3f}")


def _status(store: Store, settings: SubmissionSettings, args) -> int:
    if args.id is not None:
        info = store.get_submission(args.id)
        progress = store.progress(args.id)
        if args.json:
            print(
                json.dumps(
                    {
                        "id": info.id,
                        "model": info.model,
                        "version": info.version,
                        "status": info.status,
                        "partial": info.partial,
                        "done": progress.done,
                        "total": progress.total,
                        "rate_per_s": progress.rate_per_s,
                        "eta_s": progress.eta_s,
                        "error": info.error,
                        "hub_reference": info.hub_reference,
                    },
                    indent=2,
                )
            )
            return 0
        rate = f", {progress.rate_per_s:.2f} img/s" if progress.rate_per_s else ""
        eta = f", ETA {progress.eta_s:.0f}s" if progress.eta_s else ""
        print(f"#{info.id} {info.model} ({info.version}): {info.status}")
        print(f"  {progress.done}/{progress.total} images{rate}{eta}")
        if info.hub_reference:
            print(f"  from {info.hub_reference}")
        if info.partial:
            print("  partial: shown as partial, never ranked")
        if info.error:
            print(f"  error: {info.error}")
        if info.status == m.DONE:
            _print_result(store, info.id)
        return 0
    rows = store.list_submissions()
    if args.json:
        print(
            json.dumps(
                [
                    {"id": r.id, "model": r.model, "version": r.version, "status": r.status}
                    for r in rows
                ]
            )
        )
        return 0
    if not rows:
        print("no submissions")
    for r in rows:
        print(f"#{r.id:<5} {r.status:10s} {r.images_done:>5}/{r.images_total:<5} {r.model}")
    return 0


def _reproduce(store: Store, settings: SubmissionSettings, args) -> int:
    version = args.version or settings.version
    queued = queue_reproductions(
        store,
        settings,
        version=version,
        models=None if args.all else args.model,
        revision=args.revision,
        prompts=load_benchmark_prompts(settings),
    )
    for q in queued:
        if q.error:
            print(f"{q.model}: refused\n{q.error}", file=sys.stderr)
        elif not args.json:
            state = "already submitted" if q.result.duplicate else "queued"
            print(f"{q.model}: #{q.result.submission_id} {state} ({q.reference})")
    ids = {q.result.submission_id for q in queued if q.result is not None}
    if not args.no_wait:
        worker = Worker(store, settings)  # one scorer for every model
        while any(store.get_submission(i).status not in m.FINISHED for i in ids):
            if not worker.run_once():
                threading.Event().wait(settings.worker_poll_s)
    pairs = [r for r in store.reproductions(version) if r.submission_id in ids]
    if args.json:
        print(json.dumps([{"model": r.model, **r.as_dict()} for r in pairs], indent=2))
    else:
        _print_pairs(pairs)
    failed = any(q.error for q in queued) or any(
        store.get_submission(i).status == m.FAILED for i in ids
    )
    return 1 if failed else 0


def _print_pairs(pairs) -> None:
    for r in pairs:
        mark = "reproduced" if r.reproduced else "DIFFERS"
        print(f"{r.model} ({r.version}, #{r.submission_id}): {mark}")
        for column, diff in r.difference.items():
            rep, ver = r.reported[column], r.verified[column]
            if rep is None or ver is None:
                print(f"  {column:12s} reported {rep}  verified {ver}")
            else:
                print(f"  {column:12s} reported {rep:7.2f}  verified {ver:7.3f}  diff {diff:+.3f}")


def _worker(store: Store, settings: SubmissionSettings, args) -> int:
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    worker = Worker(store, settings)
    logging.getLogger(__name__).info("worker %s started", worker.worker_id)
    if args.once:
        while not stop.is_set() and worker.run_once(stop):
            pass
    else:
        worker.run_forever(stop)
    return 0


COMMANDS = {"submit": _submit, "reproduce": _reproduce, "status": _status, "worker": _worker}
