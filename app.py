"""Emotion & Enhancement Studio — the web app's composition root.

    python app.py [--host H] [--port P] [--share] [--auth USER:PASS]

Builds one :class:`pipeline.registry.Registry` (systems load once, on first use), lays out one
tab per ``ui`` module, and launches Gradio with analytics and ``/monitoring`` off, an upload
size limit, and ``checkpoints/`` and ``ratings/`` blocked from file serving.
"""

from __future__ import annotations

import argparse
import logging
import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import gradio as gr  # noqa: E402

from pipeline import __version__  # noqa: E402
from pipeline.registry import REPO_ROOT, Registry  # noqa: E402
from ui.about import build_about_tab  # noqa: E402
from ui.conversion import build_conversion_tab  # noqa: E402
from ui.enhancement import build_enhancement_tab  # noqa: E402

MAX_FILE_SIZE = "100mb"
BLOCKED_PATHS = [str(REPO_ROOT / "checkpoints"), str(REPO_ROOT / "ratings")]


def build_app(registry: Registry) -> gr.Blocks:
    """The studio's Blocks, all tabs wired to ``registry``."""
    with gr.Blocks(title="Emotion & Enhancement Studio", analytics_enabled=False) as demo:
        gr.Markdown(f"# Emotion & Enhancement Studio <small>v{__version__}</small>")
        with gr.Tabs():
            with gr.Tab("Emotion conversion", id="convert"):
                build_conversion_tab(registry)
            with gr.Tab("Speech enhancement", id="enhance"):
                build_enhancement_tab(registry)
            with gr.Tab("About", id="about") as about:
                build_about_tab(registry, about)
    return demo


def launch_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of ``Blocks.launch`` for the parsed command line."""
    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            raise SystemExit("--auth expects USER:PASS")
        auth = (user, password)
    return {
        "server_name": args.host,
        "server_port": args.port,
        "share": args.share,
        "auth": auth,
        "max_file_size": MAX_FILE_SIZE,
        "blocked_paths": BLOCKED_PATHS,
        "enable_monitoring": False,
        "ssr_mode": False,
        "show_error": True,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--share", action="store_true", help="create a public share link")
    parser.add_argument("--auth", metavar="USER:PASS", help="require this login")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    build_app(Registry()).queue(default_concurrency_limit=2).launch(**launch_kwargs(args))


if __name__ == "__main__":
    main()
