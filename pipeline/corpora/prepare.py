"""Build the prepared corpus: decode, resample to 16 kHz, trim, write wavs + manifest.

Output layout under the data directory::

    speech/<source>/<speaker>/<clip>.wav    16 kHz mono PCM-16, silences trimmed
    noise/<source>/<clip>.wav               16 kHz mono PCM-16
    manifest.csv                            one row per written clip (MANIFEST_COLUMNS)
    skipped.csv                             clips left out and why (too short, undecodable)

Splits (``split`` column) are assigned by :mod:`pipeline.corpora.splits`.
"""

from __future__ import annotations

import csv
import logging
import shutil
import subprocess
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from pipeline.audio import resample, to_mono, write_wav
from pipeline.constants import SAMPLE_RATE
from pipeline.corpora import CorpusError, data_dir, debian, sources
from pipeline.corpora.splits import assign_splits

log = logging.getLogger(__name__)

MANIFEST_COLUMNS = (
    "path",
    "kind",
    "source",
    "source_package",
    "speaker",
    "language",
    "licence",
    "duration_s",
    "dialog_id",
    "text",
    "text_en",
    "category",
    "split",
    "raw",
)
MIN_CLIP_SECONDS = 0.5
MAX_MUSIC_SECONDS = 90.0
TRIM_FRAME = 320  # 20 ms at 16 kHz
TRIM_RELATIVE_DB = 40.0  # speech: frames more than 40 dB below the loudest are silence
TRIM_FLOOR_DBFS = -60.0  # and anything below -60 dBFS always is
TRIM_PAD = 1600  # keep 100 ms around the active region


@dataclass(frozen=True)
class PrepareConfig:
    """Options of :func:`prepare`.

    Attributes:
        data_dir: output root (``data/`` by default).
        cache_dir: Debian download/extract cache (``<data_dir>/cache`` by default); a flat
            ``<cache>/<package>/usr`` layout such as ``/work/extract`` is reused as is.
        packages: packages to use (``debian.DEFAULT_PACKAGES`` by default).
        seed: split seed.
        force: re-decode clips whose wav already exists.
    """

    data_dir: Path
    cache_dir: Path
    packages: tuple[str, ...] = debian.DEFAULT_PACKAGES
    seed: int = 1234
    force: bool = False


def decode_g722(path: Path) -> np.ndarray:
    """Decode a headerless G.722 file with ffmpeg; returns ``(samples,)`` float32 at 16 kHz.

    The working invocation is ``ffmpeg -f g722 -i FILE -f s16le -ac 1 -ar 16000 -``: the
    g722 demuxer is 16 kHz by itself (``-ar`` before ``-i`` is rejected by the demuxer).
    """
    if shutil.which("ffmpeg") is None:
        raise CorpusError("ffmpeg not found: it is needed to decode G.722 (apt-get install ffmpeg)")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "g722"]
    cmd += ["-i", str(path), "-f", "s16le", "-ac", "1", "-ar", str(SAMPLE_RATE), "-"]
    proc = subprocess.run(cmd, capture_output=True, check=False)
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()
        raise CorpusError(f"ffmpeg could not decode {path.name}: {reason[-1] if reason else ''}")
    return np.frombuffer(proc.stdout, dtype="<i2").astype(np.float32) / 32768.0


def decode(clip: sources.PackageClip, *, max_seconds: float | None = None) -> np.ndarray:
    """Decode a clip to mono float32 at 16 kHz. ``max_seconds`` keeps only the start."""
    if clip.codec == "g722":
        wave = decode_g722(clip.raw)
    else:
        try:
            info = sf.info(str(clip.raw))
            frames = -1 if max_seconds is None else int(max_seconds * info.samplerate)
            data, sr = sf.read(str(clip.raw), frames=frames, dtype="float32", always_2d=False)
        except (sf.LibsndfileError, RuntimeError) as err:
            raise CorpusError(f"cannot read {clip.raw.name}: {err}") from None
        if data.size == 0:
            raise CorpusError(f"{clip.raw.name} holds no samples")
        wave = resample(to_mono(data).astype(np.float32), int(sr), SAMPLE_RATE)
    if max_seconds is not None:
        wave = wave[: int(max_seconds * SAMPLE_RATE)]
    return np.clip(wave, -1.0, 1.0).astype(np.float32)


def trim_silence(wave: np.ndarray, *, relative: bool = True) -> np.ndarray:
    """Cut leading and trailing silence.

    A 20 ms frame is active when its RMS is above -60 dBFS and (``relative=True``) within
    40 dB of the loudest frame. Keeps 100 ms of margin around the first..last active frame.

    Args:
        wave: ``(samples,)`` float32 at 16 kHz.
    Returns:
        ``(kept,)`` float32; empty when nothing is active.
    """
    n = len(wave) // TRIM_FRAME
    if n == 0:
        return wave[:0]
    frames = wave[: n * TRIM_FRAME].reshape(n, TRIM_FRAME).astype(np.float64)
    level = 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)
    threshold = TRIM_FLOOR_DBFS
    if relative:
        threshold = max(threshold, float(level.max()) - TRIM_RELATIVE_DB)
    active = np.flatnonzero(level > threshold)
    if active.size == 0:
        return wave[:0]
    start = max(0, active[0] * TRIM_FRAME - TRIM_PAD)
    stop = min(len(wave), (active[-1] + 1) * TRIM_FRAME + TRIM_PAD)
    return wave[start:stop]


def list_clips(roots: dict[str, Path]) -> list[sources.PackageClip]:
    """All clips of the fetched packages (``roots``: package -> extraction root)."""
    clips: list[sources.PackageClip] = []
    for lang in ("cs", "nl"):
        pkg = f"fillets-ng-data-{lang}"
        if pkg in roots:
            if "fillets-ng-data" not in roots:
                raise CorpusError(f"{pkg} needs fillets-ng-data for its dialog scripts")
            clips += sources.list_fillets(roots[pkg], roots["fillets-ng-data"], lang)
    for package, voice in sources.ASTERISK_VOICES.items():
        if package in roots:
            clips += sources.list_asterisk(
                roots[package],
                roots.get(voice.transcripts),
                package=package,
                english_root=roots.get("asterisk-core-sounds-en"),
            )
    if "hedgewars-data" in roots:
        clips += sources.list_hedgewars_voices(roots["hedgewars-data"])
        clips += sources.list_hedgewars_noise(roots["hedgewars-data"])
    if "lincity-ng-data" in roots:
        clips += sources.list_lincity(roots["lincity-ng-data"])
    if "ktuberling-data" in roots:
        clips += sources.list_ktuberling(roots["ktuberling-data"])
    if "klettres-data" in roots:
        clips += sources.list_klettres(roots["klettres-data"])
    return clips


def output_path(clip: sources.PackageClip) -> Path:
    """Path of the prepared wav relative to the data dir."""
    return Path(clip.kind) / clip.source / f"{clip.rel}.wav"


def _process(clip: sources.PackageClip, out: Path, force: bool) -> tuple[float, str]:
    """Write one clip; returns ``(duration_s, "")`` or ``(0, reason)`` when skipped."""
    if out.is_file() and not force:
        return sf.info(str(out)).frames / SAMPLE_RATE, ""
    max_s = MAX_MUSIC_SECONDS if clip.category == "music" else None
    wave = trim_silence(decode(clip, max_seconds=max_s), relative=clip.kind == "speech")
    seconds = len(wave) / SAMPLE_RATE
    if seconds < MIN_CLIP_SECONDS:
        return 0.0, f"too short after trimming ({seconds:.2f} s < {MIN_CLIP_SECONDS} s)"
    write_wav(out, wave, SAMPLE_RATE)
    return seconds, ""


def _raw_rel(clip: sources.PackageClip) -> str:
    parts = clip.raw.parts
    return "/".join(parts[parts.index("usr") :]) if "usr" in parts else clip.raw.name


def build_rows(
    clips: Sequence[sources.PackageClip],
    root: Path,
    *,
    force: bool = False,
    progress: Callable[[Iterable], Iterable] = iter,
) -> tuple[list[dict], list[dict]]:
    """Decode and write every clip; returns ``(manifest rows, skipped rows)`` (no splits yet)."""
    rows, skipped = [], []
    for clip in progress(clips):
        rel = output_path(clip)
        try:
            seconds, reason = _process(clip, root / rel, force)
        except CorpusError as err:
            seconds, reason = 0.0, str(err)
        if reason:
            skipped.append({"raw": _raw_rel(clip), "source": clip.source, "reason": reason})
            continue
        rows.append(
            {
                "path": rel.as_posix(),
                "kind": clip.kind,
                "source": clip.source,
                "source_package": clip.source_package,
                "speaker": clip.speaker,
                "language": clip.language,
                "licence": clip.licence,
                "duration_s": round(seconds, 3),
                "dialog_id": clip.dialog_id,
                "text": clip.text,
                "text_en": clip.text_en,
                "category": clip.category,
                "split": "",
                "raw": _raw_rel(clip),
            }
        )
    return rows, skipped


def write_csv(path: Path, rows: Sequence[dict], columns: Sequence[str]) -> Path:
    """Write rows atomically (temp file + replace)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(columns), extrasaction="ignore")
        writer.writeheader()
        writer.writerows(rows)
    tmp.replace(path)
    return path


def read_manifest(path: str | Path) -> list[dict]:
    """Rows of a manifest CSV as dicts (``duration_s`` as float)."""
    path = Path(path)
    if not path.is_file():
        raise CorpusError(f"no manifest at {path}: run `python -m pipeline.corpora prepare`")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        row["duration_s"] = float(row["duration_s"])
    return rows


def prepare(
    config: PrepareConfig,
    *,
    progress: Callable[[Iterable], Iterable] = iter,
    roots: dict[str, Path] | None = None,
) -> Path:
    """Fetch packages, write the prepared corpus and ``manifest.csv``; returns the manifest path.

    Args:
        config: see :class:`PrepareConfig`.
        progress: wraps the clip iterator (e.g. ``tqdm``).
        roots: package -> extraction root, to skip fetching (tests, custom trees).
    """
    root = data_dir(config.data_dir)
    unknown = [p for p in config.packages if p not in debian.PACKAGES]
    if unknown:
        raise CorpusError(f"unknown package(s): {', '.join(unknown)}")
    if roots is None:
        roots = {p: debian.fetch(p, config.cache_dir) for p in config.packages}
    clips = list_clips(roots)
    if not clips:
        raise CorpusError("no clips found in the given packages")
    rows, skipped = build_rows(clips, root, force=config.force, progress=progress)
    assign_splits(rows, seed=config.seed)
    write_csv(root / "skipped.csv", skipped, ("raw", "source", "reason"))
    manifest = write_csv(root / "manifest.csv", rows, MANIFEST_COLUMNS)
    log.info("wrote %d clips (%d skipped) to %s", len(rows), len(skipped), manifest)
    return manifest


def summarize(rows: Sequence[dict]) -> list[dict]:
    """Minutes, clips and speakers per (kind, source, split)."""
    table: dict[tuple[str, str, str], dict] = {}
    for r in rows:
        key = (r["kind"], r["source"], r["split"])
        entry = table.setdefault(
            key,
            {"kind": key[0], "source": key[1], "split": key[2], "clips": 0, "minutes": 0.0},
        )
        entry.setdefault("_speakers", set()).add(r["speaker"])
        entry["clips"] += 1
        entry["minutes"] += float(r["duration_s"]) / 60.0
    out = []
    for key in sorted(table):
        entry = table[key]
        entry["speakers"] = len(entry.pop("_speakers"))
        entry["minutes"] = round(entry["minutes"], 1)
        out.append(entry)
    return out
