"""The app launched on loopback and driven through every API endpoint with gradio_client."""

from __future__ import annotations

import socket
import time

import httpx
import pytest
from gradio_client import Client, handle_file

from tests.conftest import SMALL_PROMPTS_PER_STYLE, make_benchmark, zip_folder
from web import create_app, launch_kwargs
from web.app import start_worker

PUBLIC = {"/score", "/compare", "/submit", "/progress", "/queue", "/leaderboard"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def launch(settings):
    demo = create_app(settings)
    kwargs = launch_kwargs(settings.replace(port=free_port()), demo)
    demo.launch(prevent_thread_lock=True, quiet=True, **kwargs)
    return demo


@pytest.fixture
def server(app_settings):
    demo = launch(app_settings)
    _, stop = start_worker(demo.hps_context)
    yield demo, Client(demo.local_url, verbose=False)
    stop.set()
    demo.close()


def test_only_the_named_endpoints_are_public(server):
    _, client = server
    api = client.view_api(print_info=False, return_format="dict")
    assert set(api["named_endpoints"]) == PUBLIC
    assert api["unnamed_endpoints"] == {}


def test_score_and_compare_endpoints(server, color_images):
    demo, client = server
    files = [handle_file(str(p)) for p in color_images]
    gallery, table, result, status = client.predict(
        files, "a red square", "v2.1", api_name="/score"
    )
    expected = demo.hps_context.pool.get("v2.1").score(color_images, "a red square")
    assert result["scores"] == pytest.approx(expected, abs=1e-4)
    assert [r["image"] for r in result["ranking"]][0] == color_images[
        expected.index(max(expected))
    ].name
    assert len(gallery) == len(color_images) and table["headers"] == ["rank", "image", "score"]
    assert "ready" in status
    a, b = (handle_file(str(color_images[i])) for i in (0, 2))
    label, verdict, comparison, _ = client.predict(
        a, b, "a red square", "v2.1", api_name="/compare"
    )
    assert {c["label"] for c in label["confidences"]} == {"A", "B"}
    prob_a = next(c["confidence"] for c in label["confidences"] if c["label"] == "A")
    assert prob_a == pytest.approx(comparison["prob_a"])
    assert f"image {comparison['preferred']}" in verdict


def test_user_errors_reach_the_client_as_messages(server, color_images):
    _, client = server
    with pytest.raises(Exception, match="prompt is empty"):
        client.predict([handle_file(str(color_images[0]))], "", "v2.1", api_name="/score")
    with pytest.raises(Exception, match="unknown HPS version"):
        client.predict("v9", False, False, api_name="/leaderboard")


def test_submit_progress_queue_leaderboard(server, tmp_path):
    _, client = server
    zipped = zip_folder(make_benchmark(tmp_path / "bench"), tmp_path / "bench.zip")
    report, result, job, _ = client.predict(
        handle_file(str(zipped)), None, None, None, None,
        "Client <model>", "https://example.org/m", "", "notes", "v2.1", False, "",
        api_name="/submit",
    )  # fmt: skip
    assert result["ok"] and job == result["submission_id"] and "accepted" in report
    deadline = time.monotonic() + 60
    while (p := client.predict(job, api_name="/progress"))["status"] != "done":
        assert p["status"] in ("queued", "running") and time.monotonic() < deadline
        time.sleep(0.3)
    assert p["done"] == p["total"] == 4 * SMALL_PROMPTS_PER_STYLE
    [queued] = client.predict(True, api_name="/queue")
    assert queued["id"] == job and queued["model"] == "Client <model>"
    rows = client.predict("v2.1", False, True, api_name="/leaderboard")
    every = client.predict("v2.1", False, False, api_name="/leaderboard")
    rank = next(r["rank"] for r in every if r["kind"] == "verified")
    # ranks are global in a version: "verified only" hides rows, never renumbers them
    assert [(r["model"], r["kind"], r["rank"]) for r in rows] == [
        ("Client <model>", "verified", rank)
    ]
    assert rows[0]["rank_ci"][0] <= rank <= rows[0]["rank_ci"][1]
    assert set(rows[0]["styles"]) == {"anime", "concept-art", "paintings", "photo"}
    published = client.predict("v2.0", False, False, api_name="/leaderboard")
    assert len(published) == 22 and {r["version"] for r in published} == {"v2.0"}


def test_upload_limit_is_enforced(app_settings, tmp_path):
    demo = launch(app_settings.replace(max_upload_mb=1))
    try:
        client = Client(demo.local_url, verbose=False)
        big = tmp_path / "big.zip"
        big.write_bytes(b"\0" * (1024 * 1024 + 10))
        with pytest.raises(ValueError, match="maximum file size of 1048576"):
            client.predict(
                handle_file(str(big)), None, None, None, None, "m", "", "", "", "v2.1", False, "",
                api_name="/submit",
            )  # fmt: skip
        # and the server refuses it too, whatever the client does
        with open(big, "rb") as fh:
            response = httpx.post(demo.local_url + "gradio_api/upload", files={"files": fh})
        assert response.status_code == 413
    finally:
        demo.close()


def test_app_starts_and_browses_without_a_checkpoint(tmp_path, color_images):
    from web.settings import AppSettings

    demo = launch(AppSettings(data_dir=str(tmp_path / "d"), worker=False))
    try:
        client = Client(demo.local_url, verbose=False)
        assert len(client.predict("v2.1", False, False, api_name="/leaderboard")) == 22
        with pytest.raises(Exception, match="HPS_CHECKPOINT"):
            client.predict([handle_file(str(color_images[0]))], "a cat", "v2.1", api_name="/score")
    finally:
        demo.close()


def test_python_app_py_serves_the_seeded_leaderboard(tmp_path):
    """``python app.py`` on the defaults (no checkpoint, offline): it starts and serves."""
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    port = free_port()
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "HPS_DATA_DIR": str(tmp_path / "data"),
        "HPS_PORT": str(port),
        "HPS_WORKER": "false",
    }
    env.pop("HPS_CHECKPOINT", None)
    temp, cache = tmp_path / "tmp", tmp_path / "gradio-cache"
    temp.mkdir()
    env.update(TMPDIR=str(temp), GRADIO_TEMP_DIR=str(cache))
    log = open(tmp_path / "app.log", "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=log, stderr=log)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, (tmp_path / "app.log").read_text()
            try:
                if httpx.get(url + "gradio_api/info", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "app did not start in 90 s"
            time.sleep(0.5)
        rows = Client(url, verbose=False).predict("v2.1", False, False, api_name="/leaderboard")
        assert len(rows) == 22 and rows[0]["rank"] == 1
        assert (tmp_path / "data" / "leaderboard.db").is_file()
        assert [p.name[:11] for p in temp.iterdir()] == ["hps-export-"]
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()
    # stopped by SIGTERM: its temporary folders are gone
    assert list(temp.iterdir()) == [], (tmp_path / "app.log").read_text()[-2000:]
    assert not cache.exists() or not any(p.is_file() for p in cache.rglob("*"))


def test_python_app_py_refuses_a_bad_setting(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    env = {**os.environ, "HPS_PORT": "seventy", "HPS_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode != 0
    assert "HPS_PORT='seventy'" in done.stderr


def tricky_images(folder) -> dict[str, object]:
    """Files whose decoding matters: 16-bit PNG, CMYK JPEG, palette PNG with transparency
    (all scorable), an animated GIF and a 40000x1 strip (both refused)."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(7)
    folder.mkdir(parents=True, exist_ok=True)
    out = {}
    values = rng.integers(0, 65536, size=(48, 64), dtype=np.uint16)
    Image.fromarray(values).save(out.setdefault("grey16", folder / "grey16.png"))
    cmyk = Image.fromarray(rng.integers(0, 256, (40, 56, 4), dtype=np.uint8), mode="CMYK")
    cmyk.save(out.setdefault("cmyk", folder / "cmyk.jpg"), quality=90)
    palette = Image.fromarray(rng.integers(0, 256, (50, 30, 3), dtype=np.uint8)).quantize(16)
    palette.save(out.setdefault("palette", folder / "palette.png"), transparency=0)
    frames = [Image.new("RGB", (40, 30), c) for c in ((255, 0, 0), (0, 0, 255))]
    gif = out.setdefault("gif", folder / "anim.gif")
    frames[0].save(gif, save_all=True, append_images=frames[1:])
    Image.new("RGB", (40_000, 1), (9, 9, 9)).save(out.setdefault("thin", folder / "thin.png"))
    return out


def test_score_compare_and_cli_score_the_same_bytes(server, tmp_path, tiny_checkpoint):
    """The same file gives the same score through /score, /compare and ``python -m scorer``;
    what one refuses, all refuse, with the same reason."""
    import json
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    _, client = server
    images = tricky_images(tmp_path / "tricky")
    ckpt, arch = tiny_checkpoint
    prompt = "a red square"
    flags = ["--checkpoint", str(ckpt), "--arch", str(arch), "--device", "cpu"]
    flags += ["--precision", "fp32", "--json"]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HPS_DATA_DIR": str(tmp_path / "cli")}

    def cli(path):
        return subprocess.run(
            [sys.executable, "-m", "scorer", "score", str(path), "--prompt", prompt, *flags],
            cwd=REPO, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip

    reference = images["palette"]
    for key in ("grey16", "cmyk", "palette"):
        path = images[key]
        *_, scored, _ = client.predict([handle_file(str(path))], prompt, "v2.1", api_name="/score")
        *_, compared, _ = client.predict(
            handle_file(str(path)), handle_file(str(reference)), prompt, "v2.1",
            api_name="/compare",
        )  # fmt: skip
        done = cli(path)
        assert done.returncode == 0, done.stderr
        from_cli = json.loads(done.stdout)["scores"][0]
        assert scored["scores"][0] == pytest.approx(from_cli, abs=1e-4), key
        assert compared["score_a"] == pytest.approx(from_cli, abs=1e-4), key
    for key, reason in (("gif", "the file is GIF"), ("thin", "40000x1 is too thin")):
        path = images[key]
        with pytest.raises(Exception, match=reason):
            client.predict([handle_file(str(path))], prompt, "v2.1", api_name="/score")
        with pytest.raises(Exception, match=reason):
            client.predict(
                handle_file(str(path)), handle_file(str(reference)), prompt, "v2.1",
                api_name="/compare",
            )  # fmt: skip
        done = cli(path)
        assert done.returncode == 2 and reason in done.stderr
        assert len(done.stderr.strip().splitlines()) == 2  # the "ready" line and the error


def event_index(demo, label: str) -> int:
    """fn_index of the click event of the button labelled ``label`` (a page-only event)."""
    import gradio as gr

    button = next(b for b in demo.blocks.values() if isinstance(b, gr.Button) and b.value == label)
    return next(fn._id for fn in demo.fns.values() if (button._id, "click") in fn.targets)


def queue_call(base: str, fn_index: int, data: list, session: str) -> dict:
    """Call an event through the queue with raw HTTP, as the page does; the final message."""
    import json

    joined = httpx.post(
        base + "gradio_api/queue/join",
        json={"data": data, "fn_index": fn_index, "session_hash": session, "event_data": None},
        timeout=30,
    )
    joined.raise_for_status()
    with httpx.stream(
        "GET", base + "gradio_api/queue/data", params={"session_hash": session}, timeout=60
    ) as stream:
        for line in stream.iter_lines():
            if line.startswith("data:"):
                msg = json.loads(line[5:])
                if msg.get("msg") == "process_completed":
                    return msg
    raise AssertionError("no process_completed message")


def test_page_events_are_reachable_only_as_documented(app_settings, tmp_path, capfd, caplog):
    """No event runs by a direct POST (/gradio_api/run/...); the page's admin events go through
    the queue like any page request, and there wrong tokens are throttled per client; the
    token is never logged."""
    import logging

    from web import texts

    caplog.set_level(logging.DEBUG)
    token = "s3cret-token-value"
    settings = app_settings.replace(admin_token=token, admin_max_failures=3, admin_window_s=600)
    demo = launch(settings)
    try:
        base = demo.local_url
        hide = event_index(demo, texts.BUTTON_HIDE)
        for route in ("gradio_api/run/predict", "gradio_api/run/leaderboard"):
            response = httpx.post(base + route, json={"data": [token, 1], "fn_index": hide})
            assert response.status_code == 404, response.text
        for k in range(3):
            msg = queue_call(base, hide, [f"guess-{k}", 1], f"s{k}")
            assert not msg["success"] and texts.ADMIN_DENIED in msg["output"]["error"]
        msg = queue_call(base, hide, [token, 1], "s-right")
        assert not msg["success"] and "too many wrong admin tokens" in msg["output"]["error"]
        assert Client(base, verbose=False).predict("v2.1", False, False, api_name="/leaderboard")
    finally:
        demo.close()
    out, err = capfd.readouterr()
    assert token not in out + err + caplog.text


def test_bad_ids_and_plain_text_errors_for_api_clients(server):
    _, client = server
    for bad in ("abc", -1, 2.5, "１"):
        with pytest.raises(Exception, match="is not a submission number") as info:
            client.predict(bad, api_name="/progress")
        assert "Something went wrong" not in str(info.value)
    with pytest.raises(Exception) as info:
        client.predict("<v9>", False, False, api_name="/leaderboard")
    assert "'<v9>'" in str(info.value) and "&lt;" not in str(info.value)


def test_app_py_with_an_unusable_data_dir_is_one_line(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import REPO

    blocker = tmp_path / "a-file"
    blocker.write_text("in the way")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HPS_DATA_DIR": str(blocker / "data")}
    done = subprocess.run(
        [sys.executable, "app.py"], cwd=REPO, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().startswith("error: HPS_DATA_DIR=")
    assert "Traceback" not in done.stderr


def cached_files(folder) -> list:
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_uploads_do_not_stay_on_disk(app_settings, tmp_path, monkeypatch, color_images):
    """Submission uploads are deleted once validated (accepted or refused); other uploads
    leave Gradio's cache after HPS_CACHE_MAX_AGE_S; the export folder goes on close."""
    cache = tmp_path / "gradio-cache"
    monkeypatch.setenv("GRADIO_TEMP_DIR", str(cache))
    demo = launch(app_settings.replace(cache_max_age_s=2))
    try:
        client = Client(demo.local_url, verbose=False)
        complete = zip_folder(make_benchmark(tmp_path / "full"), tmp_path / "full.zip")
        incomplete = zip_folder(
            make_benchmark(tmp_path / "part", missing={("photo", 1)}), tmp_path / "part.zip"
        )
        assert cached_files(cache) == []
        for upload, ok in ((complete, True), (incomplete, False)):
            _, result, _, _ = client.predict(
                handle_file(str(upload)), None, None, None, None,
                f"model {upload.stem}", "", "", "", "v2.1", False, "", api_name="/submit",
            )  # fmt: skip
            assert result["ok"] is ok
            assert cached_files(cache) == []  # the zip is gone once validated
        folder_files = [handle_file(str(p)) for p in (tmp_path / "full" / "anime").iterdir()]
        client.predict(
            None, folder_files, None, None, None, "folders", "", "", "", "v2.1", True, "",
            api_name="/submit",
        )  # fmt: skip
        assert cached_files(cache) == []
        client.predict([handle_file(str(color_images[0]))], "a cat", "v2.1", api_name="/score")
        assert cached_files(cache) != []  # shown in the gallery: kept for a while
        deadline = time.monotonic() + 30
        while cached_files(cache):
            assert time.monotonic() < deadline, cached_files(cache)
            time.sleep(0.5)
        export_dir = demo.hps_context.export_dir
        assert export_dir.is_dir()
    finally:
        demo.close()
        demo.hps_context.close()
    assert not export_dir.exists()
