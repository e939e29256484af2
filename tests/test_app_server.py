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
        "Client <model>", "https://example.org/m", "", "notes", "v2.1", False,
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
                handle_file(str(big)), None, None, None, None, "m", "", "", "", "v2.1", False,
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
    finally:
        proc.terminate()
        proc.wait(timeout=30)
        log.close()


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
