"""Corpora: Debian-package speech/noise, user-brought corpus layouts, noisy mixtures.

Modules:
    debian   -- the table of Debian packages used and ``fetch`` (apt-get download + dpkg -x).
    sources  -- enumerate the clips of each package (speaker, language, transcripts).
    prepare  -- decode, resample to 16 kHz, trim, write wavs + ``manifest.csv`` with splits.
    mixing   -- on-the-fly noisy mixtures (``NoisyMixtureDataset``) and fixed test sets.
    layouts  -- loaders for VoiceBank-DEMAND, paired folders, ESD, RAVDESS, CREMA-D, manifests.
"""

from __future__ import annotations

import os
from pathlib import Path


class CorpusError(RuntimeError):
    """A corpus could not be fetched, read or recognised. ``str(err)`` is one line."""


def data_dir(path: str | Path | None = None) -> Path:
    """The data directory: ``path`` if given, else ``$STUDIO_DATA``, else ``./data``."""
    if path is not None:
        return Path(path)
    return Path(os.environ.get("STUDIO_DATA", "data"))
