"""Emotion & Enhancement Studio — the web app's composition root.

    python app.py [--host H] [--port P] [--share] [--auth USER:PASS]
                  [--admin-password PW] [--listening-only] [--ratings-root DIR]
                  [--ratings-db postgresql://...]

Builds one :class:`pipeline.registry.Registry` (systems load once, on first use), lays out one
tab per ``ui`` module, and launches Gradio with analytics and ``/monitoring`` off, an upload
size limit, and ``checkpoints/`` and ``ratings/`` blocked from file serving.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # before gradio is imported

import gradio as gr  # noqa: E402
from starlette.middleware import Middleware  # noqa: E402

from pipeline import __version__  # noqa: E402
from pipeline.mos.backends import ENV_VAR as RATINGS_DB_ENV  # noqa: E402
from pipeline.mos.backends import check_database  # noqa: E402
from pipeline.registry import REPO_ROOT, Registry  # noqa: E402
from ui.about import build_about_tab  # noqa: E402
from ui.compare import build_compare_tab  # noqa: E402
from ui.conversion import build_conversion_tab  # noqa: E402
from ui.enhancement import build_enhancement_tab  # noqa: E402
from ui.intro import build_intro  # noqa: E402
from ui.listening_parts import CROWD_HEAD  # noqa: E402
from ui.listening_test import build_listening_tab  # noqa: E402
from ui.results import build_results_tab  # noqa: E402
from ui.serving import (  # noqa: E402
    DELETE_AFTER_S,
    DELETE_EVERY_S,
    MAX_FILE_MB,
    ClosedRoutes,
    RequestSizeLimit,
    keep_build_time_files,
    memoize_signatures,
)

MAX_FILE_SIZE = f"{MAX_FILE_MB}mb"
RATINGS_ROOT = Path(os.environ.get("STUDIO_RATINGS", REPO_ROOT / "ratings"))
#: URL parameters that mark a listener's link: such visits open on the listening test
LISTENER_PARAMS = ("PROLIFIC_PID", "listener", "workerId", "test")


def build_app(
    registry: Registry,
    *,
    ratings_root: Path = RATINGS_ROOT,
    admin_password: str | None = None,
    listening_only: bool = False,
) -> gr.Blocks:
    """The studio's Blocks, all tabs wired to ``registry``.

    Args:
        ratings_root: folder of listening tests (``<test_id>/`` with definition and ratings).
        admin_password: unlocks the Results tab; ``None`` leaves it disabled.
        listening_only: build only the listening test (for crowdsourcing deployments).
    """
    with gr.Blocks(
        title="Emotion & Enhancement Studio",
        analytics_enabled=False,
        delete_cache=(DELETE_EVERY_S, DELETE_AFTER_S),  # uploads and outputs of past requests
    ) as demo:
        if listening_only:
            build_listening_tab(ratings_root=ratings_root, registry=registry)
            return served(demo)
        header = gr.Markdown(
            f"# Emotion & Enhancement Studio <small>v{__version__}</small>",
            elem_classes="studio-header",
        )
        intro = build_intro()
        with gr.Tabs() as tabs:
            with gr.Tab("Emotion conversion", id="convert") as convert_tab:
                build_conversion_tab(registry)
            with gr.Tab("Speech enhancement", id="enhance") as enhance_tab:
                build_enhancement_tab(registry)
            with gr.Tab("Compare", id="compare") as compare_tab:
                build_compare_tab(registry)
            with gr.Tab("Listening test", id="listen"):
                flows = build_listening_tab(ratings_root=ratings_root, registry=registry)
            with gr.Tab("Results", id="results") as results_tab:
                build_results_tab(
                    ratings_root=ratings_root, admin_password=admin_password, registry=registry
                )
            with gr.Tab("About", id="about") as about:
                build_about_tab(registry, about, ratings_root=ratings_root)
        others = [header, intro, convert_tab, enhance_tab, compare_tab, results_tab, about]

        def open_listener_links(request: gr.Request):
            """Select the listening test when the URL carries a listener id or test id; a
            crowd link (a test in crowd mode) also hides the header and every other tab."""
            params = dict(request.query_params) if request else {}
            if not any(k in params for k in LISTENER_PARAMS):
                return [gr.skip()] * (1 + len(others))
            crowd = flows.crowd_test(params) is not None
            hide = [gr.update(visible=False) if crowd else gr.skip()] * len(others)
            return [gr.Tabs(selected="listen"), *hide]

        demo.load(
            open_listener_links,
            None,
            [tabs, *others],
            api_visibility="private",
            queue=False,  # cheap: never queue page loads behind model runs
        )
    return served(demo)


def served(demo: gr.Blocks) -> gr.Blocks:
    """``demo`` made ready to serve: build-time files kept in Gradio's cache, component
    signatures memoized (see :mod:`ui.serving`)."""
    keep_build_time_files(demo)
    memoize_signatures(demo)
    return demo


def launch_kwargs(args: argparse.Namespace) -> dict:
    """Keyword arguments of ``Blocks.launch`` for the parsed command line."""
    auth = None
    if args.auth:
        user, sep, password = args.auth.partition(":")
        if not sep or not user or not password:
            raise SystemExit("--auth expects USER:PASS")
        auth = (user, password)
    middleware = [Middleware(RequestSizeLimit)]
    if getattr(args, "listening_only", False):  # the listening test takes no files
        middleware.insert(0, Middleware(ClosedRoutes))
    return {
        "server_name": args.host,
        "server_port": args.port,
        "share": args.share,
        "auth": auth,
        "max_file_size": MAX_FILE_SIZE,  # per file; RequestSizeLimit bounds a whole request
        "app_kwargs": {"middleware": middleware},
        "blocked_paths": [str(REPO_ROOT / "checkpoints"), str(args.ratings_root)],
        "enable_monitoring": False,
        "ssr_mode": False,
        "show_error": True,
        "head": CROWD_HEAD,  # a crowd link hides the studio around the test at once
        # a listening-only deployment shows no footer links (API docs, settings)
        "footer_links": [] if getattr(args, "listening_only", False) else None,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python app.py", description=__doc__.splitlines()[0])
    parser.add_argument("--host", default=os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("GRADIO_SERVER_PORT", 7860)))
    parser.add_argument("--share", action="store_true", help="create a public share link")
    parser.add_argument("--auth", metavar="USER:PASS", help="require this login")
    parser.add_argument(
        "--admin-password",
        default=os.environ.get("STUDIO_ADMIN_PASSWORD"),
        help="password of the Results tab (default: $STUDIO_ADMIN_PASSWORD)",
    )
    parser.add_argument(
        "--listening-only",
        action="store_true",
        help="serve only the listening test (crowdsourcing links)",
    )
    parser.add_argument(
        "--ratings-root",
        type=Path,
        default=RATINGS_ROOT,
        help="folder of listening tests and their ratings",
    )
    parser.add_argument(
        "--ratings-db",
        metavar="URL",
        default=os.environ.get(RATINGS_DB_ENV),
        help=f"keep ratings and sessions in PostgreSQL (default: ${RATINGS_DB_ENV}, else CSV)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = parse_args(argv)
    if args.ratings_db:  # read by every listening test's backend (pipeline.mos.backends)
        try:
            os.environ[RATINGS_DB_ENV] = check_database(args.ratings_db)
        except (ValueError, OSError) as err:
            raise SystemExit(f"--ratings-db: {err}") from None
    demo = build_app(
        Registry(),
        ratings_root=args.ratings_root,
        admin_password=args.admin_password,
        listening_only=args.listening_only,
    )
    demo.queue(default_concurrency_limit=2).launch(
        **launch_kwargs(args),
        prevent_thread_lock=True,
        quiet=True,  # Gradio's own hints name launch() arguments; launch_message names flags
    )
    print(launch_message(demo.local_url, demo.share_url), flush=True)
    demo.block_thread()


def launch_message(local_url: str, share_url: str | None) -> str:
    """What a presenter needs after start-up, in terms of this command's flags."""
    lines = [f"* Studio running on {local_url}"]
    if share_url:
        lines.append(f"* Public link (temporary): {share_url}")
    else:
        lines.append(
            "* For a temporary public link, restart with --share (e.g. --share --auth USER:PASS)"
        )
    lines.append("* Stop with Ctrl+C")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
