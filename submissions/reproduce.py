"""Reproducing the published rows: each published model's benchmark images, fetched from
the hub dataset where the HPS authors published them, scored here on one version.

The archive of a model is ``<folder>/<abbr><suffix>`` in the dataset (``zhwang/HPDv2``,
``benchmark/benchmark_imgs/<abbr>.tar.gz``), unpacking to ``<abbr>/<style>/<index>.jpg``;
the abbreviations are data (``published_archives.json``), checked by a test against the
published tables. A reproduction is a submission by hub reference filed under the published
model (the one way a verified result joins a published model: ordinary submissions under a
published name are refused), so its verified row is the twin of the reported one
(``leaderboard.reproduction``). Identical content is never scored twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from leaderboard.seed import load_published
from scorer.errors import HPSError
from scorer.prompts import PromptSets

from .hub import HUB_PREFIX, HubReferenceError
from .report import SubmissionRejected
from .submit import SubmitResult, load_benchmark_prompts, submit

ARCHIVES_FILE = Path(__file__).with_name("published_archives.json")


class UnknownPublishedModel(HPSError, LookupError):
    """A model name that is not in the published tables, or has no archive."""


@dataclass(frozen=True)
class ArchiveMap:
    dataset: str
    folder: str
    suffix: str
    archives: dict[str, str]  # published model name -> abbreviation
    no_archive: dict[str, str]  # published model name -> why there is none
    unpublished: dict[str, str]  # abbreviation -> model name, archives without a row

    def reference(self, model: str, revision: str | None = None) -> str:
        abbr = self.archives[model]
        rev = f"@{revision}" if revision else ""
        return f"{HUB_PREFIX}datasets/{self.dataset}{rev}/{self.folder}/{abbr}{self.suffix}"


@cache
def archive_map(path: Path = ARCHIVES_FILE) -> ArchiveMap:
    data = json.loads(path.read_text(encoding="utf-8"))
    return ArchiveMap(
        data["dataset"],
        data["folder"],
        data["suffix"],
        dict(data["archives"]),
        dict(data["no_archive"]),
        dict(data["unpublished"]),
    )


def published_models(version: str) -> list[str]:
    """The models of the published table of ``version``, in its order."""
    return [row["model"] for row in load_published()["tables"].get(version, [])]


def select_models(version: str, names: list[str] | None) -> list[str]:
    """Published names for ``names`` (published names or archive abbreviations, any case);
    every published model of the version that has an archive when ``names`` is None."""
    amap = archive_map()
    published = published_models(version)
    if not names:
        return [m for m in published if m in amap.archives]
    by_key = {m.casefold(): m for m in published}
    by_key.update({a.casefold(): m for m, a in amap.archives.items() if m in published})
    chosen = []
    for name in names:
        model = by_key.get(name.strip().casefold())
        if model is None:
            raise UnknownPublishedModel(
                f"{name!r} is not a model of the published {version} table; known: "
                + ", ".join(f"{m} ({amap.archives.get(m, 'no archive')})" for m in published)
            )
        if model not in amap.archives:
            raise UnknownPublishedModel(
                f"{model!r} has no published archive ({amap.no_archive.get(model, '')})"
            )
        if model not in chosen:
            chosen.append(model)
    return chosen


@dataclass(frozen=True)
class Queued:
    model: str
    reference: str
    result: SubmitResult | None  # None when refused
    error: str | None = None  # why the archive was refused (the report, or the reference)


def queue_reproductions(
    store,
    settings,
    *,
    version: str,
    models: list[str] | None = None,
    revision: str | None = None,
    prompts: PromptSets | None = None,
) -> list[Queued]:
    """Fetch and submit the archive of each chosen published model, to be scored by a
    worker. A refused archive (bad reference, failed validation) is reported in its entry
    and the others go on."""
    chosen = select_models(version, models)
    prompts = prompts or load_benchmark_prompts(settings)
    out = []
    for model in chosen:
        reference = archive_map().reference(model, revision)
        try:
            result = submit(
                store,
                reference,
                model=model,
                version=version,
                notes=f"Reproduction of the published {version} row from {reference}",
                settings=settings,
                prompts=prompts,
                reproduction=True,
            )
        except SubmissionRejected as exc:
            out.append(Queued(model, reference, None, exc.report.as_text()))
        except HubReferenceError as exc:
            out.append(Queued(model, reference, None, str(exc)))
        else:
            out.append(Queued(model, reference, result))
    return out
