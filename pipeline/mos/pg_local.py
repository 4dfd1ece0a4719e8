"""A throwaway, real PostgreSQL server for tests and benchmarks (never a mock).

``with local_postgres() as server:`` runs ``initdb`` into a fresh temporary folder, starts
``postgres`` with ``pg_ctl`` on a free 127.0.0.1 port (trust authentication, superuser
``studio``) and yields a :class:`LocalPostgres` whose ``url`` is a
``postgresql://studio@127.0.0.1:PORT/postgres`` connection string. On exit the server is
stopped (``pg_ctl stop -m immediate``) and the folder deleted.

The binaries are looked up in ``$STUDIO_PG_BIN``, then ``pg_config --bindir``, then the
newest ``/usr/lib/postgresql/*/bin`` (Debian's ``postgresql`` package), then ``$PATH``.
``initdb`` refuses to run as root: when this process is root the server runs as the
unprivileged ``postgres`` system user (created by the Debian package), or the user named
by ``$STUDIO_PG_USER``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

SUPERUSER = "studio"
#: server settings for a small throwaway instance (durability settings stay at defaults)
SETTINGS = {
    "listen_addresses": "127.0.0.1",
    "max_connections": "120",
    "shared_buffers": "32MB",
    "fsync": "on",
    "synchronous_commit": "on",
    "log_min_messages": "warning",
}


class PostgresUnavailable(RuntimeError):
    """The PostgreSQL server binaries (initdb, pg_ctl) are not installed."""


@dataclass(frozen=True)
class LocalPostgres:
    """A running throwaway server: its data folder, port and connection URL."""

    folder: Path
    port: int
    url: str
    bindir: Path


def find_bindir() -> Path:
    """Folder holding ``initdb`` and ``pg_ctl``; raises :class:`PostgresUnavailable`."""
    candidates: list[Path] = []
    if os.environ.get("STUDIO_PG_BIN"):
        candidates.append(Path(os.environ["STUDIO_PG_BIN"]))
    pg_config = shutil.which("pg_config")
    if pg_config:
        out = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)
        if out.returncode == 0 and out.stdout.strip():
            candidates.append(Path(out.stdout.strip()))
    debian = Path("/usr/lib/postgresql")
    if debian.is_dir():
        versions = sorted(
            (p for p in debian.iterdir() if p.name.split(".")[0].isdigit()),
            key=lambda p: int(p.name.split(".")[0]),
            reverse=True,
        )
        candidates += [v / "bin" for v in versions]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(Path(initdb).parent)
    for folder in candidates:
        if (folder / "initdb").is_file() and (folder / "pg_ctl").is_file():
            return folder
    raise PostgresUnavailable(
        "PostgreSQL server binaries not found (initdb, pg_ctl): install Debian's "
        "'postgresql' package or set STUDIO_PG_BIN"
    )


def _server_user() -> pwd.struct_passwd | None:
    """The unprivileged account to run the server as when we are root, else None."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("STUDIO_PG_USER", "postgres")
    try:
        return pwd.getpwnam(name)
    except KeyError:
        raise RuntimeError(
            f"running as root, but there is no '{name}' user to run PostgreSQL as "
            "(initdb refuses root); create one or set STUDIO_PG_USER"
        ) from None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _run(cmd: list[str], user: pwd.struct_passwd | None, log_path: Path) -> None:
    """Run a server command (as ``user`` when given); one-line error with the log tail."""
    kwargs = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []} if user else {}
    with open(log_path, "ab") as out:
        proc = subprocess.run(
            cmd, stdout=out, stderr=subprocess.STDOUT, check=False, cwd="/", **kwargs
        )
    if proc.returncode != 0:
        tail = log_path.read_text(errors="replace").strip().splitlines()[-3:]
        raise RuntimeError(f"{Path(cmd[0]).name} failed ({proc.returncode}): {' | '.join(tail)}")


@contextlib.contextmanager
def local_postgres(*, start_attempts: int = 3) -> Iterator[LocalPostgres]:
    """Start a fresh PostgreSQL server; stop it and delete its folder on exit."""
    bindir = find_bindir()
    user = _server_user()
    # tempfile.mkdtemp is 0700 and owned by us: hand it to the server's user when root
    folder = Path(tempfile.mkdtemp(prefix="studio-pg-"))
    data, server_log = folder / "data", folder / "server.log"
    server_log.touch()
    if user is not None:
        for path in (folder, server_log):
            os.chown(path, user.pw_uid, user.pw_gid)
    started = False
    try:
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(data),
                "-U",
                SUPERUSER,
                "--auth=trust",
                "--encoding=UTF8",
                "--locale=C",
                "--no-sync",
            ],
            user,
            server_log,
        )
        options = " ".join(f"-c {k}={v}" for k, v in SETTINGS.items())
        for attempt in range(start_attempts):
            port = _free_port()
            try:
                _run(
                    [
                        str(bindir / "pg_ctl"),
                        "-D",
                        str(data),
                        "-l",
                        str(server_log),
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        f"-p {port} -k {folder} {options}",
                        "start",
                    ],
                    user,
                    server_log,
                )
            except RuntimeError:
                if attempt + 1 == start_attempts:
                    raise
                log.warning("postgres did not start on port %d; retrying", port)
                continue
            started = True
            break
        url = f"postgresql://{SUPERUSER}@127.0.0.1:{port}/postgres"
        log.info("local PostgreSQL on port %d (%s)", port, folder)
        yield LocalPostgres(folder=folder, port=port, url=url, bindir=bindir)
    finally:
        if started:
            try:
                _run(
                    [str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"],
                    user,
                    server_log,
                )
            except RuntimeError as err:
                log.warning("could not stop the local PostgreSQL: %s", err)
        shutil.rmtree(folder, ignore_errors=True)
