"""Where the app listens and where its data lives, as a Space (or any host) says.

Every test points HPS_STORAGE_ROOT at a temporary folder: nothing here touches /data."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from scorer.errors import ConfigError
from tests.conftest import REPO, write_small_prompts
from web import texts
from web.hosting import settings_from_env

SPACE = {"SPACE_ID": "someone/hps", "SYSTEM": "spaces"}


def test_listen_address_follows_gradio_variables_unless_hps_ones_are_set(tmp_path):
    base = {"HPS_STORAGE_ROOT": str(tmp_path / "none")}
    settings, _ = settings_from_env(base)
    assert (settings.host, settings.port) == ("127.0.0.1", 7860)
    gradio = {**base, "GRADIO_SERVER_NAME": "0.0.0.0", "GRADIO_SERVER_PORT": "7861"}
    settings, _ = settings_from_env(gradio)
    assert (settings.host, settings.port) == ("0.0.0.0", 7861)
    settings, _ = settings_from_env({**gradio, "HPS_HOST": "127.0.0.2", "HPS_PORT": "9000"})
    assert (settings.host, settings.port) == ("127.0.0.2", 9000)
    with pytest.raises(ConfigError, match="GRADIO_SERVER_PORT='port'"):
        settings_from_env({**base, "GRADIO_SERVER_PORT": "port"})


def test_data_and_hub_cache_go_to_writable_persistent_storage(tmp_path):
    root = tmp_path / "bucket"
    root.mkdir()
    settings, hosting = settings_from_env({**SPACE, "HPS_STORAGE_ROOT": str(root)})
    assert hosting.persistent and hosting.notice is None
    assert settings.data_path == root / "hps"
    assert Path(settings.resolved_database_url.removeprefix("sqlite:///")).parent == root / "hps"
    assert settings.hub_cache == str(root / ".huggingface" / "hub")
    # explicit choices win: the data dir, and the user's own huggingface_hub cache
    explicit = {**SPACE, "HPS_STORAGE_ROOT": str(root), "HPS_DATA_DIR": str(tmp_path / "mine")}
    settings, hosting = settings_from_env(explicit)
    assert settings.data_path == tmp_path / "mine" and not hosting.persistent
    settings, _ = settings_from_env({"HPS_STORAGE_ROOT": str(root), "HF_HOME": str(tmp_path)})
    assert settings.data_path == root / "hps" and settings.hub_cache is None


def test_a_local_run_keeps_its_data_dir():
    """Not a Space and no HPS_STORAGE_ROOT: ./data, whatever /data holds (never looked at)."""
    settings, hosting = settings_from_env({})
    assert settings.data_dir == "data" and settings.hub_cache is None
    assert not hosting.persistent and hosting.notice is None


def test_read_only_storage_is_not_used(tmp_path):
    root = tmp_path / "ro"
    root.mkdir()
    root.chmod(0o555)
    try:
        if os.access(root, os.W_OK):
            pytest.skip("running as a user who can write anywhere")
        settings, hosting = settings_from_env({"HPS_STORAGE_ROOT": str(root)})
        assert not hosting.persistent and settings.data_dir == "data"
    finally:
        root.chmod(0o755)


def test_a_space_without_storage_says_results_are_lost(tmp_path):
    env = {**SPACE, "HPS_STORAGE_ROOT": str(tmp_path / "absent")}
    settings, hosting = settings_from_env(env)
    assert settings.data_dir == "data" and not hosting.persistent
    assert "lost on restart" in hosting.notice and "backup repo" in hosting.notice
    _, hosting = settings_from_env({**env, "HPS_BACKUP_REPO": "someone/hps-backup"})
    assert "someone/hps-backup" in hosting.notice and "images are lost" in hosting.notice
    # not a Space: ./data is an ordinary folder that stays
    _, hosting = settings_from_env({"HPS_STORAGE_ROOT": str(tmp_path / "absent")})
    assert hosting.notice is None


def test_about_and_admin_view_show_the_storage_notice(app_settings, app_store, tmp_path):
    from web import create_app

    env = {**SPACE, "HPS_STORAGE_ROOT": str(tmp_path / "absent")}
    _, hosting = settings_from_env(env)
    demo = create_app(app_settings, store=app_store, hosting=hosting)
    shown = [
        block.value
        for block in demo.blocks.values()
        if isinstance(getattr(block, "value", None), str)
    ]
    assert any(hosting.notice in value for value in shown)  # the About tab
    assert hosting.notice in demo.hps_context.storage_status()  # the admin view
    assert texts.STORAGE_EPHEMERAL.split("(")[0] in hosting.notice


# --- the real entry point, as a Space starts it ------------------------------------------


def listening(port: int) -> set[str]:
    """Local addresses with a TCP socket listening on ``port``, as ``ss`` shows them."""
    out = subprocess.run(
        ["ss", "-ltnH", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return {line.split()[3].rsplit(":", 1)[0] for line in out.splitlines() if line.strip()}


def start_app(tmp_path, tiny_checkpoint, env: dict) -> tuple[subprocess.Popen, int]:
    ckpt, arch = tiny_checkpoint
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    full = {k: v for k, v in os.environ.items() if not k.startswith(("HPS_", "GRADIO_", "SPACE"))}
    full.update(
        HPS_CHECKPOINT=str(ckpt),
        HPS_ARCH=str(arch),
        HPS_DEVICE="cpu",
        HPS_PRECISION="fp32",
        HPS_WORKER="0",
        HPS_PROMPTS=str(write_small_prompts(tmp_path / "prompts.json")),
        HPS_PROMPT_COUNT_CHECK="0",
        GRADIO_SERVER_PORT=str(port),
        GRADIO_ANALYTICS_ENABLED="False",
        HF_HUB_OFFLINE="1",
        **SPACE,
        **env,
    )
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "app.py")],
        cwd=tmp_path,
        env=full,  # app.py's folder is on sys.path as the script's own: no PYTHONPATH
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"app.py exited {proc.returncode}: {proc.stdout.read()}")
        if listening(port):
            return proc, port
        time.sleep(0.5)
    proc.kill()
    raise AssertionError(f"app.py did not listen on {port}: {proc.stdout.read()}")


def stop_app(proc: subprocess.Popen) -> str:
    proc.terminate()
    try:
        out, _ = proc.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, _ = proc.communicate()
    return out


@pytest.mark.slow
def test_app_listens_where_the_space_says_and_hps_host_wins(tmp_path, tiny_checkpoint):
    bucket = tmp_path / "bucket"
    bucket.mkdir()
    proc, port = start_app(
        tmp_path,
        tiny_checkpoint,
        {"GRADIO_SERVER_NAME": "0.0.0.0", "HPS_STORAGE_ROOT": str(bucket)},
    )
    try:
        # bound to every interface (what the Space's proxy needs), as ss shows it; this test
        # sends traffic to loopback only
        assert listening(port) <= {"0.0.0.0", "*"}, listening(port)
        assert httpx.get(f"http://127.0.0.1:{port}/", timeout=30).status_code == 200
        assert (bucket / "hps" / "leaderboard.db").is_file()  # data on persistent storage
    finally:
        stop_app(proc)
    assert not (tmp_path / "data").exists()

    # no storage, a backup repo: restored at start, a last backup tried at shutdown (SIGTERM)
    hub_cache = tmp_path / "hub"
    snapshot_with_model(tmp_path / "snap", hub_cache, "someone/hps-backup", "restored-model")
    proc, port = start_app(
        tmp_path,
        tiny_checkpoint,
        {
            "GRADIO_SERVER_NAME": "0.0.0.0",
            "HPS_HOST": "127.0.0.1",
            "HPS_STORAGE_ROOT": str(tmp_path / "absent"),
            "HPS_BACKUP_REPO": "someone/hps-backup",
            "HPS_BACKUP_TOKEN": "hf_test",
            "HPS_HUB_CACHE": str(hub_cache),
        },
    )
    try:
        assert listening(port) == {"127.0.0.1"}
    finally:
        out = stop_app(proc)
    assert "lost on restart" in out and "someone/hps-backup" in out  # said at start
    assert "restored" in out and model_names(tmp_path / "data") >= {"restored-model"}
    # the last backup at SIGTERM: tried, and (offline here) its failure logged
    assert "backup to someone/hps-backup failed" in out and "offline" in out


def snapshot_with_model(folder: Path, hub_cache: Path, repo: str, model: str) -> None:
    """A database holding ``model``, as the latest snapshot in a hub cache laid out as
    huggingface_hub lays it out."""
    import sqlite3

    from leaderboard import Store
    from leaderboard.settings import StoreSettings

    Store.open(StoreSettings(data_dir=str(folder))).close()
    conn = sqlite3.connect(folder / "leaderboard.db")
    with conn:
        conn.execute(
            "INSERT INTO models (name, created_at) VALUES (?, '2026-01-01 00:00:00')", (model,)
        )
    conn.close()
    sha = "89abcdef0123456789abcdef0123456789abcdef"
    root = hub_cache / f"datasets--{repo.replace('/', '--')}"
    (root / "refs").mkdir(parents=True)
    (root / "refs" / "main").write_text(sha)
    (root / "snapshots" / sha).mkdir(parents=True)
    (folder / "leaderboard.db").rename(root / "snapshots" / sha / "leaderboard.db")


def model_names(data: Path) -> set[str]:
    import sqlite3

    conn = sqlite3.connect(data / "leaderboard.db")
    try:
        return {name for (name,) in conn.execute("SELECT name FROM models")}
    finally:
        conn.close()
