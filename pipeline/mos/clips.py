"""Clips as immutable, content-addressed files for the listener's players.

A stimulus file is copied once to ``<root>/<sha256 of its bytes>/audio.wav`` (temp file +
rename, so a reader never sees a partial file) and never rewritten: a browser that is still
downloading a clip while another listener is shown the same clip reads a complete, unchanging
file. The name says nothing about the stimulus (every clip is ``audio.wav``), and the digest
directory is not guessable without the audio. Lookups are cached per source file
``(path, size, mtime)``, so showing a clip costs one ``stat``.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import threading
from pathlib import Path

CLIP_NAME = "audio.wav"


class ClipCache:
    """Publishes source clips under ``root`` as immutable content-hashed copies."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self._published: dict[tuple[str, int, int], Path] = {}
        self._lock = threading.Lock()

    def publish(self, source: str | Path) -> Path:
        """The immutable copy of ``source`` (made on first use)."""
        source = Path(source)
        info = source.stat()
        key = (str(source), info.st_size, info.st_mtime_ns)
        with self._lock:
            known = self._published.get(key)
        if known is not None and known.is_file():
            return known
        data = source.read_bytes()
        target = self.root / hashlib.sha256(data).hexdigest()[:32] / CLIP_NAME
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            tmp = target.with_name(f".{secrets.token_hex(6)}.tmp")
            tmp.write_bytes(data)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)  # atomic; an identical file may already be there: fine
        with self._lock:
            self._published[key] = target
        return target
