"""app.py's command line and launch settings (no server started)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import app
from pipeline.registry import REPO_ROOT


def test_launch_settings_are_locked_down(tmp_path: Path) -> None:
    kwargs = app.launch_kwargs(app.parse_args(["--ratings-root", str(tmp_path)]))
    assert kwargs["enable_monitoring"] is False
    assert kwargs["max_file_size"] == app.MAX_FILE_SIZE
    assert str(REPO_ROOT / "checkpoints") in kwargs["blocked_paths"]
    assert str(tmp_path) in kwargs["blocked_paths"]
    assert kwargs["server_name"] == "127.0.0.1" and kwargs["share"] is False
    assert kwargs["auth"] is None
    assert os.environ["GRADIO_ANALYTICS_ENABLED"] == "False"


def test_flags(tmp_path: Path) -> None:
    args = app.parse_args(
        [
            "--host",
            "0.0.0.0",
            "--port",
            "9000",
            "--share",
            "--auth",
            "ann:pa:ss",
            "--admin-password",
            "pw",
            "--listening-only",
        ]
    )
    kwargs = app.launch_kwargs(args)
    assert (kwargs["server_name"], kwargs["server_port"], kwargs["share"]) == (
        "0.0.0.0",
        9000,
        True,
    )
    assert kwargs["auth"] == ("ann", "pa:ss")
    assert args.admin_password == "pw" and args.listening_only


@pytest.mark.parametrize("auth", ["nopass", ":x", "user:"])
def test_bad_auth_is_rejected(auth: str) -> None:
    with pytest.raises(SystemExit, match="USER:PASS"):
        app.launch_kwargs(app.parse_args(["--auth", auth]))


def test_blocks_have_analytics_off(tmp_path: Path) -> None:
    from pipeline.registry import Registry

    demo = app.build_app(Registry(tmp_path / "checkpoints"), ratings_root=tmp_path)
    assert demo.analytics_enabled is False
    apis = {dep.get("api_name") for dep in demo.config["dependencies"]}
    assert {"enhance", "convert"} <= apis
