"""Submissions by hub reference, resolved by the real huggingface_hub from a cache the test
lays out as the library does (HF_HOME, HF_HUB_OFFLINE=1): folders, zips, tars, hostile tars,
missing paths and revisions, limits applied to the listing before any download."""

from __future__ import annotations

import tarfile

import pytest

from scorer.prompts import load_prompt_sets
from scorer.protocol import STYLES
from submissions import SubmissionRejected, submit, validate
from submissions.hub import HubReferenceError, parse_ref, resolve
from submissions.settings import SubmissionSettings
from submissions.submit import fetch_reference
from tests.conftest import build_benchmark, write_prompts, zip_tree
from tests.hubcache import commit_sha, folder_files, tar_bytes

N = 4
REPO = "someone/my-model-benchmark"


@pytest.fixture
def prompts(tmp_path):
    return load_prompt_sets(write_prompts(tmp_path / "p.json", N), expect_count=False)


@pytest.fixture
def settings(tmp_path):
    return SubmissionSettings(data_dir=str(tmp_path / "data"), prompt_count_check=False)


@pytest.fixture
def bench_files(tmp_path) -> dict[str, bytes]:
    return folder_files(build_benchmark(tmp_path / "bench", N, size=(32, 32)))


def check(reference: str, prompts, settings):
    listing, fetched = fetch_reference(reference, settings)
    return listing, validate(fetched, prompts, settings)


def test_folder_reference_resolves_branch_to_commit(hub_cache, bench_files, prompts, settings):
    files = {f"outputs/{k}": v for k, v in bench_files.items()}
    files["README.md"] = b"not part of the submission"
    sha = hub_cache.add_commit(REPO, files)
    listing, report = check(f"hf://datasets/{REPO}/outputs", prompts, settings)
    assert listing.sha == sha and not listing.is_archive
    assert set(listing.files) == {p for p in files if p.startswith("outputs/")}
    assert listing.pinned() == f"hf://datasets/{REPO}@{sha}/outputs"
    assert report.ok and report.complete, report.as_text()
    assert report.counts == {s: N for s in STYLES}


def test_zip_and_tar_gz_archives_with_wrapping_folders(
    hub_cache, tmp_path, bench_files, prompts, settings
):
    folder = build_benchmark(tmp_path / "z", N, size=(32, 32))
    zipped = zip_tree(folder, tmp_path / "b.zip", prefix="my-model/").read_bytes()
    # an archive that unpacks with an extra top-level folder, as the published ones do
    nested = tar_bytes({f"XY/{k}": v for k, v in bench_files.items()})
    plain = tar_bytes(bench_files, gz=False)
    hub_cache.add_commit(REPO, {"sub/b.zip": zipped, "sub/b.tar.gz": nested, "sub/b.tar": plain})
    for name in ("b.zip", "b.tar.gz", "b.tar"):
        listing, report = check(f"hf://datasets/{REPO}/sub/{name}", prompts, settings)
        assert listing.is_archive and list(listing.files) == [f"sub/{name}"]
        assert report.ok and report.complete, (name, report.as_text())


def test_hostile_tar_members_are_named(hub_cache, bench_files, prompts, settings):
    link = tarfile.TarInfo("anime/00000.png")
    link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
    dev = tarfile.TarInfo("photo/null")
    dev.type = tarfile.CHRTYPE
    hard = tarfile.TarInfo("paintings/00000.png")
    hard.type, hard.linkname = tarfile.LNKTYPE, "anime/00001.png"
    linked = ("anime/00000.png", "paintings/00000.png")
    files = {k: v for k, v in bench_files.items() if k not in linked}
    files["../escape.png"] = bench_files["anime/00001.png"]
    files["/etc/cron.d/x.png"] = bench_files["anime/00001.png"]
    hub_cache.add_commit(REPO, {"bad.tar.gz": tar_bytes(files, extra=(link, dev, hard))})
    _, report = check(f"hf://datasets/{REPO}/bad.tar.gz", prompts, settings)
    assert not report.ok
    text = report.as_text()
    assert "'../escape.png': path with '..'" in text
    assert "'anime/00000.png': symbolic link (to '/etc/passwd')" in text
    assert "'photo/null': device or FIFO entry" in text
    assert "'paintings/00000.png': hard link (to 'anime/00001.png')" in text
    assert "'/etc/cron.d/x.png': absolute path" in text
    assert "images were not checked" in text


def test_tar_bomb_stops_at_the_ratio_limit(hub_cache, prompts, settings):
    bomb = tar_bytes({"anime/00000.png": bytes(8 * 1024 * 1024)})
    hub_cache.add_commit(REPO, {"bomb.tar.gz": bomb})
    _, report = check(f"hf://datasets/{REPO}/bomb.tar.gz", prompts, settings)
    assert not report.ok and "compression ratio over the limit" in report.as_text()
    assert not list((settings.data_path / "tmp").glob("*")), "the temporary tar is removed"


def test_missing_path_and_revision_name_the_reference(hub_cache, bench_files, settings):
    sha = hub_cache.add_commit(REPO, bench_files, refs=("main", "v1"))
    with pytest.raises(HubReferenceError, match=r"no file or folder 'nope' in dataset"):
        resolve(f"hf://datasets/{REPO}/nope")
    with pytest.raises(HubReferenceError, match=r"revision 'v9' of dataset .* cannot be resolved"):
        resolve(f"hf://datasets/{REPO}@v9")
    missing_commit = commit_sha("never pushed")
    with pytest.raises(HubReferenceError, match=f"commit {missing_commit[:12]}"):
        resolve(f"hf://datasets/{REPO}@{missing_commit}")
    with pytest.raises(HubReferenceError, match="cannot be resolved"):
        resolve("hf://datasets/nobody/nothing")
    # a tag and the commit itself pin the same bytes
    assert resolve(f"hf://datasets/{REPO}@v1").sha == sha
    assert resolve(f"hf://datasets/{REPO}@{sha}").sha == sha


def test_references_that_are_not_dataset_paths():
    with pytest.raises(HubReferenceError, match="only dataset references"):
        parse_ref("hf://someone/a-model")
    with pytest.raises(HubReferenceError, match="not a hub reference"):
        parse_ref("hf://")
    ref = parse_ref("hf://datasets/a/b@refs/pr/3/x/y.zip")
    assert (ref.repo_id, ref.revision, ref.path) == ("a/b", "refs/pr/3", "x/y.zip")
    assert ref.is_archive


def test_limits_apply_to_the_listing_before_download(hub_cache, bench_files, tmp_path):
    hub_cache.add_commit(REPO, {f"out/{k}": v for k, v in bench_files.items()})
    few = SubmissionSettings(data_dir=str(tmp_path / "d"), max_zip_entries=5)
    with pytest.raises(SubmissionRejected) as info:
        fetch_reference(f"hf://datasets/{REPO}/out", few)
    assert "more than 5 files, the limit (HPS_MAX_ZIP_ENTRIES)" in info.value.report.as_text()
    assert info.value.report.source == f"hf://datasets/{REPO}/out"
    assert len(resolve(f"hf://datasets/{REPO}/out", max_files=5).files) == 6  # listing stopped
    big = SubmissionSettings(data_dir=str(tmp_path / "d"), max_image_mb=1, max_upload_mb=1)
    two_mib = bytes(2 * 1024 * 1024)
    hub_cache.add_commit(REPO, {"huge/anime/00000.png": two_mib, "a.zip": two_mib}, refs=("big",))
    with pytest.raises(SubmissionRejected) as info:
        fetch_reference(f"hf://datasets/{REPO}@big/a.zip", big)
    assert "the archive is 2 MiB, over the limit of 1 MiB (HPS_MAX_UPLOAD_MB)" in str(
        info.value.report.as_text()
    )
    with pytest.raises(SubmissionRejected) as info:
        fetch_reference(f"hf://datasets/{REPO}@big/huge", big)
    assert "'huge/anime/00000.png': 2.0 MiB is over the image file limit" in str(
        info.value.report.as_text()
    )


def test_a_plain_file_is_not_a_submission(hub_cache, bench_files):
    hub_cache.add_commit(REPO, bench_files)
    with pytest.raises(HubReferenceError, match="is a file, not a folder"):
        resolve(f"hf://datasets/{REPO}/anime/00000.png")


def test_submission_records_repo_path_and_commit(hub_cache, bench_files, store, tmp_path):
    prompts = load_prompt_sets(write_prompts(tmp_path / "p12.json", N), expect_count=False)
    sha = hub_cache.add_commit(REPO, {f"out/{k}": v for k, v in bench_files.items()}, refs=("v1",))
    result = submit(store, f"hf://datasets/{REPO}@v1/out", model="hub model", prompts=prompts)
    info = store.get_submission(result.submission_id)
    assert (info.hub_repo, info.hub_path, info.hub_revision) == (REPO, "out", sha)
    assert info.hub_reference == f"hf://datasets/{REPO}@{sha}/out"
    assert info.status == "queued" and info.images_total == 4 * N
    stored = sorted(
        p.relative_to(store.submission_folder(info.id)).as_posix()
        for p in store.submission_folder(info.id).rglob("*.png")
    )
    assert stored == sorted(bench_files)
    # the same bytes by another reference (the commit itself) are the same submission
    again = submit(store, info.hub_reference, model="hub model", prompts=prompts)
    assert again.duplicate and again.submission_id == info.id


def test_cli_names_a_bad_reference_in_one_line(hub_cache, tmp_path, monkeypatch, capsys):
    from submissions.cli import main

    monkeypatch.setenv("HPS_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("HPS_PROMPTS", str(write_prompts(tmp_path / "p.json", N)))
    monkeypatch.setenv("HPS_PROMPT_COUNT_CHECK", "false")
    monkeypatch.delenv("HPS_DATABASE_URL", raising=False)
    assert main(["submit", f"hf://datasets/{REPO}@v2/out", "--model", "m"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert err.startswith(f"error: hf://datasets/{REPO}@v2/out: revision 'v2' of dataset")
