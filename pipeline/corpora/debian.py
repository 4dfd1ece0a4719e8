"""Debian packages that carry real speech and noise, and fetching them without root.

``fetch`` runs ``apt-get download <package>`` into ``<cache>/debs`` and unpacks it with
``dpkg -x`` into ``<cache>/extract/<package>``. Both steps are skipped when their output
already exists, so a cache directory prepared earlier (or by hand) is reused as is.

Licences below were read from each package's ``usr/share/doc/<pkg>/copyright``.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipeline.corpora import CorpusError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DebPackage:
    """One Debian package used by the data layer.

    Attributes:
        name: Debian package name.
        role: ``speech``, ``noise``, ``speech+noise`` or ``transcripts``.
        licence: licence of the parts used (from the package's copyright file).
        contents: what the package contributes.
    """

    name: str
    role: str
    licence: str
    contents: str


PACKAGES: dict[str, DebPackage] = {
    p.name: p
    for p in (
        DebPackage(
            "fillets-ng-data-cs",
            "speech",
            "GPL-2",
            "Fish Fillets NG Czech voice acting: ~1900 ogg dialogue lines (22.05 kHz), "
            "two main characters (small fish 'm', big fish 'v') plus minor characters",
        ),
        DebPackage(
            "fillets-ng-data-nl",
            "speech",
            "GPL-2",
            "Fish Fillets NG Dutch voice acting: ~1600 ogg dialogue lines, same characters",
        ),
        DebPackage(
            "fillets-ng-data",
            "transcripts",
            "GPL-2",
            "Fish Fillets NG level scripts: script/<level>/dialogs_<lang>.lua map dialog ids "
            "to the English original (dialogId) and the translation (dialogStr)",
        ),
        DebPackage(
            "asterisk-core-sounds-en-g722",
            "speech",
            "CC-BY-SA-3.0",
            "Asterisk IVR prompts read by Allison Smith (one US-English female), "
            "G.722 at 16 kHz, ~570 files",
        ),
        DebPackage(
            "asterisk-core-sounds-en",
            "transcripts",
            "CC-BY-SA-3.0",
            "core-sounds-en.txt.gz: the transcript of every Asterisk core prompt",
        ),
        DebPackage(
            "asterisk-core-sounds-fr-g722",
            "speech",
            "CC-BY-SA-3.0 (June Wallack)",
            "Asterisk IVR prompts read by June Wallack (Canadian-French female), G.722 16 kHz",
        ),
        DebPackage(
            "asterisk-core-sounds-fr",
            "transcripts",
            "CC-BY-SA-3.0",
            "core-sounds-fr.txt.gz: French transcripts of the prompts",
        ),
        DebPackage(
            "asterisk-core-sounds-it-g722",
            "speech",
            "CC-BY-3.0 (Carlo Flora)",
            "Asterisk IVR prompts read by Carlo Flora (Italian male), G.722 16 kHz",
        ),
        DebPackage(
            "asterisk-core-sounds-it",
            "transcripts",
            "CC-BY-3.0",
            "core-sounds-it.txt.gz: Italian transcripts of the prompts",
        ),
        DebPackage(
            "asterisk-core-sounds-ru-g722",
            "speech",
            "CC-BY-3.0 (Maxim Topal, ivrvoice.ru)",
            "Asterisk IVR prompts, one Russian female voice (ivrvoice.ru), G.722 16 kHz",
        ),
        DebPackage(
            "asterisk-core-sounds-ru",
            "transcripts",
            "CC-BY-3.0",
            "core-sounds-ru.txt.gz: Russian transcripts of the prompts",
        ),
        DebPackage(
            "hedgewars-data",
            "speech+noise",
            "GFDL-1.3 (Data/Sounds), GPL-2 (Data/Music)",
            "Hedgewars: Data/Sounds/voices/<pack>/*.ogg acted exclamations by ~20 voice "
            "packs (speech); Data/Sounds/*.ogg game effects and Data/Music/*.ogg (noise)",
        ),
        DebPackage(
            "lincity-ng-data",
            "noise",
            "GPL-2+ (sound effects dual-licensed GPL / CC-BY-SA-2.0; Debian uses GPL)",
            "LinCity-NG city, industry, traffic and nature sound effects (144 wav)",
        ),
        DebPackage(
            "ktuberling-data",
            "speech",
            "GPL-2+",
            "KTuberling spoken object names (short single words) in ~25 languages",
        ),
        DebPackage(
            "klettres-data",
            "speech",
            "GPL-2+",
            "KLettres spoken letters and syllables in ~20 languages (very short)",
        ),
    )
}

DEFAULT_PACKAGES: tuple[str, ...] = (
    "fillets-ng-data-cs",
    "fillets-ng-data-nl",
    "fillets-ng-data",
    "asterisk-core-sounds-en-g722",
    "asterisk-core-sounds-en",
    "hedgewars-data",
    "lincity-ng-data",
)
"""Packages ``prepare`` uses unless told otherwise (the others are opt-in)."""

CLEAN_SPEECH_PACKAGES: tuple[str, ...] = (
    "asterisk-core-sounds-en",
    "asterisk-core-sounds-fr-g722",
    "asterisk-core-sounds-fr",
    "asterisk-core-sounds-it-g722",
    "asterisk-core-sounds-it",
    "asterisk-core-sounds-ru-g722",
    "asterisk-core-sounds-ru",
)
"""Opt-in studio speech of three more Asterisk voices (French, Italian, Russian), prepared
into a separate data dir and merged into the enhancement training manifest; the English
transcripts package supplies their ``text_en``."""


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    if shutil.which(cmd[0]) is None:
        raise CorpusError(f"{cmd[0]} not found: install it or pass a prepared cache directory")
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).strip().splitlines() if ln.strip()]
        reason = lines[-1] if lines else f"exit code {proc.returncode}"
        raise CorpusError(f"{' '.join(cmd[:2])} {cmd[-1]} failed: {reason}")


def extract_dir(package: str, cache_dir: str | Path) -> Path:
    """Where ``fetch`` unpacks ``package``: ``<cache_dir>/extract/<package>``.

    A cache laid out as ``<cache_dir>/<package>`` (such as ``/work/extract``) is accepted too.
    """
    cache_dir = Path(cache_dir)
    flat = cache_dir / package
    if (flat / "usr").is_dir():
        return flat
    return cache_dir / "extract" / package


def fetch(package: str, cache_dir: str | Path) -> Path:
    """Download and unpack a Debian package without installing it; return its root.

    Args:
        package: Debian package name, e.g. ``"fillets-ng-data-cs"``.
        cache_dir: holds ``debs/*.deb`` and ``extract/<package>/``.

    Returns:
        The extraction root (contains ``usr/share/...``).

    Raises:
        CorpusError: apt-get or dpkg failed (one-line reason).
    """
    cache_dir = Path(cache_dir)
    target = extract_dir(package, cache_dir)
    if (target / "usr").is_dir():
        log.debug("%s already extracted at %s", package, target)
        return target
    debs = cache_dir / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    found = sorted(debs.glob(f"{package}_*.deb"))
    if not found:
        log.info("apt-get download %s", package)
        _run(["apt-get", "download", package], cwd=debs)
        found = sorted(debs.glob(f"{package}_*.deb"))
        if not found:
            raise CorpusError(f"apt-get download {package} produced no .deb in {debs}")
    partial = target.with_name(target.name + ".partial")
    if partial.exists():
        shutil.rmtree(partial)
    partial.mkdir(parents=True)
    _run(["dpkg", "-x", str(found[-1]), str(partial)])
    partial.replace(target)
    return target


def read_copyright(package: str, root: Path) -> str:
    """The text of ``usr/share/doc/<package>/copyright`` under an extraction ``root``."""
    path = root / "usr" / "share" / "doc" / package / "copyright"
    return path.read_text(encoding="utf-8", errors="replace") if path.is_file() else ""
