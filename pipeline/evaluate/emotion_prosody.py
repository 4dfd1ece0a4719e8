"""Prosody-target checks of the emotion evaluation (issue 14): profiles, direction rule,
intensity monotonicity, reference tracking, full band and real-time factor.

Works beside :mod:`pipeline.evaluate.emotion_report` (which scores judge accuracy, speaker
similarity, DNSMOS and WER): it takes that run's per-clip rows for the profile / direction
table and runs its own prosody-only conversions for the rest. Shifts are output minus source
on the same clip: F0 mean and F0 spread (standard deviation) in semitones, speech level in
dB (:func:`pipeline.emotion.prosody.prosody_stats`, Harvest F0) and rate as the duration
ratio source / output (the words are the same, so this is the speaking-rate factor).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.audio import resample
from pipeline.emotion.profiles import PROFILES, SpeakerBaseline, direction_holds
from pipeline.emotion.prosody import band_level_db
from pipeline.emotion.reference import measure_prosody
from pipeline.registry import Registry
from pipeline.signals import full_band_voice

log = logging.getLogger(__name__)

MOVING = ("happy", "angry", "sad", "surprise")
SWEEP = (0.0, 0.25, 0.5, 0.75, 1.0)
Progress = Callable[[Iterable], Iterable]


def _shift_row(source, output, n_in: int, n_out: int) -> dict[str, float]:
    return {
        "d_f0_st": output.f0_mean_st - source.f0_mean_st,
        "d_spread_st": output.f0_std_st - source.f0_std_st,
        "d_energy_db": output.energy_db - source.energy_db,
        "rate": n_in / max(n_out, 1),
    }


def profile_table(rows: pd.DataFrame, intensity: float = 1.0) -> pd.DataFrame:
    """Mean shifts vs the literature profile and the direction-rule pass rate, per system and
    emotion, from the evaluation's per-clip rows (needs ``f0_std_st``)."""
    src = rows[rows["system"] == "source"].set_index("path")
    conv = rows[(rows["system"] != "source") & (rows["intensity"] == intensity)]
    out = []
    for (system, emotion), g in conv[conv["emotion"].isin(MOVING)].groupby(["system", "emotion"]):
        s = src.loc[g["path"]]
        d_f0 = g["f0_mean_st"].to_numpy() - s["f0_mean_st"].to_numpy()
        d_sp = g["f0_std_st"].to_numpy() - s["f0_std_st"].to_numpy()
        d_en = g["energy_db"].to_numpy() - s["energy_db"].to_numpy()
        holds = [direction_holds(emotion, *v) for v in zip(d_f0, d_sp, d_en, strict=True)]
        valid = [h for h in holds if h is not None]
        p = PROFILES[emotion]
        out.append(
            {
                "system": system,
                "emotion": emotion,
                "clips": len(g),
                "d_f0_st": float(np.nanmean(d_f0)),
                "profile_f0_st": p.f0_shift_st,
                "d_spread_st": float(np.nanmean(d_sp)),
                "d_energy_db": float(np.nanmean(d_en)),
                "profile_energy_db": p.energy_db,
                "rate": float(np.nanmean(s["duration_s"].to_numpy() / g["duration_s"].to_numpy())),
                "profile_rate": p.rate,
                "direction_ok": float(np.mean(valid)) if valid else float("nan"),
            }
        )
    return pd.DataFrame(out)


def intensity_sweep(
    registry: Registry,
    systems: Sequence[str],
    paths: Sequence[Path],
    *,
    intensities: Sequence[float] = SWEEP,
    progress: Progress = lambda it: it,
) -> pd.DataFrame:
    """Per-clip prosody shifts of every system, emotion and intensity (no judges)."""
    import soundfile as sf

    sources = []
    for path in paths:
        wave, sr = sf.read(str(path), dtype="float32", always_2d=False)
        wave = wave.mean(axis=1) if wave.ndim == 2 else wave
        sources.append((path, wave, int(sr), measure_prosody(wave, int(sr))))
    jobs = [(s, e, k, src) for s in systems for e in MOVING for k in intensities for src in sources]
    rows = []
    for system, emotion, k, (path, wave, sr, stats) in progress(jobs):
        out = registry.get("emotion", system).convert(wave, sr, emotion, k)
        shift = _shift_row(stats, measure_prosody(out, sr), len(wave), len(out))
        rows.append(
            {"system": system, "emotion": emotion, "intensity": k, "path": str(path), **shift}
        )
    return pd.DataFrame(rows)


def monotonicity(sweep: pd.DataFrame) -> pd.DataFrame:
    """Mean shifts per intensity and whether F0, energy and rate grow monotonically.

    "Grow" is in the emotion's direction (down for sad); rate must not move against its
    profile's direction (surprise's profile rate is 1: no rate change is expected).
    """
    out = []
    for (system, emotion), g in sweep.groupby(["system", "emotion"]):
        means = g.groupby("intensity")[["d_f0_st", "d_energy_db", "rate"]].mean().sort_index()
        sign = -1.0 if emotion == "sad" else 1.0
        rate_sign = np.sign(np.log(PROFILES[emotion].rate))
        f0_ok = bool(np.all(np.diff(sign * means["d_f0_st"].to_numpy()) > 0))
        en_ok = bool(np.all(np.diff(sign * means["d_energy_db"].to_numpy()) > 0))
        rate_steps = np.diff(np.log(means["rate"].to_numpy()))
        rate_ok = bool(
            np.all(rate_sign * rate_steps > 0) if rate_sign else np.all(np.abs(rate_steps) < 0.02)
        )
        out.append(
            {
                "system": system,
                "emotion": emotion,
                **{f"f0@{k:g}": v for k, v in means["d_f0_st"].items()},
                **{f"en@{k:g}": v for k, v in means["d_energy_db"].items()},
                **{f"rate@{k:g}": v for k, v in means["rate"].items()},
                "f0_monotone": f0_ok,
                "energy_monotone": en_ok,
                "rate_monotone": rate_ok,
            }
        )
    return pd.DataFrame(out)


@dataclass(frozen=True)
class ReferenceClip:
    path: Path
    speaker: str


def reference_tracking(
    registry: Registry,
    system: str,
    sources: Sequence[Path],
    references: Sequence[ReferenceClip],
    *,
    pairs: int = 30,
    baseline_clips: int = 8,
    progress: Progress = lambda it: it,
) -> tuple[pd.DataFrame, dict[str, float]]:
    """Convert sources towards references (round robin) and correlate the reference's
    speaker-normalised F0-mean and level moves with the output's moves from its source.

    Each reference speaker's baseline is the mean statistics of up to ``baseline_clips`` of
    their clips in ``references``. Returns per-pair rows and Pearson r per statistic.
    """
    import soundfile as sf

    from pipeline.emotion.reference import reference_profile

    def read(path: Path) -> tuple[np.ndarray, int]:
        wave, sr = sf.read(str(path), dtype="float32", always_2d=False)
        return (wave.mean(axis=1) if wave.ndim == 2 else wave), int(sr)

    by_speaker: dict[str, list[ReferenceClip]] = {}
    for ref in references:
        by_speaker.setdefault(ref.speaker, []).append(ref)
    baselines = {
        spk: SpeakerBaseline.from_stats(
            [measure_prosody(*read(r.path)) for r in refs[:baseline_clips]]
        )
        for spk, refs in by_speaker.items()
    }
    converter = registry.get("emotion", system)
    rows = []
    jobs = [(sources[i % len(sources)], references[i % len(references)]) for i in range(pairs)]
    for src_path, ref in progress(jobs):
        wave, sr = read(src_path)
        ref_wave, ref_sr = read(ref.path)
        try:
            move = reference_profile(ref_wave, ref_sr, baseline=baselines[ref.speaker])
        except ValueError as err:
            log.warning("reference %s skipped: %s", ref.path, err)
            continue
        out = converter.convert_profile(wave, sr, move)
        shift = _shift_row(measure_prosody(wave, sr), measure_prosody(out, sr), len(wave), len(out))
        rows.append(
            {
                "source": str(src_path),
                "reference": str(ref.path),
                "ref_f0_st": move.f0_shift_st,
                "ref_energy_db": move.energy_db,
                **shift,
            }
        )
    frame = pd.DataFrame(rows)
    return frame, pearson_tracking(frame)


def pearson_tracking(pairs: pd.DataFrame) -> dict[str, float]:
    """Pearson r between the references' moves and the outputs' moves (needs 3 pairs)."""
    if len(pairs) < 3:
        return {}
    return {
        "f0_mean": float(np.corrcoef(pairs["ref_f0_st"], pairs["d_f0_st"])[0, 1]),
        "energy": float(np.corrcoef(pairs["ref_energy_db"], pairs["d_energy_db"])[0, 1]),
    }


def speed_and_band(
    registry: Registry, systems: Sequence[str], wave16: np.ndarray, *, emotion: str = "angry"
) -> pd.DataFrame:
    """RTF (wall and CPU time / audio duration) at 16 and 48 kHz input on ``wave16`` (a 16 kHz
    clip, upsampled for 48 kHz), and the level above 8 kHz before/after on a 48 kHz
    :func:`~pipeline.signals.full_band_voice`, also relative to the conversion's
    whole-band level change (an angry target raises every band). Records the 1-minute load average,
    since the machine is shared."""
    out = []
    band_src = full_band_voice(3.0, 48_000, level_dbfs=-26.0)
    for system in systems:
        conv = registry.get("emotion", system)
        conv.convert(wave16[:16_000], 16_000, emotion, 1.0)  # warm-up
        row = {"system": system, "load_avg": os.getloadavg()[0]}
        for sr in (16_000, 48_000):
            wave = resample(wave16, 16_000, sr)
            wall, cpu = time.perf_counter(), time.process_time()
            conv.convert(wave, sr, emotion, 1.0)
            seconds = len(wave) / sr
            row[f"rtf_wall_{sr // 1000}k"] = (time.perf_counter() - wall) / seconds
            row[f"rtf_cpu_{sr // 1000}k"] = (time.process_time() - cpu) / seconds
        converted = conv.convert(band_src, 48_000, emotion, 1.0)
        row["band8k_source_db"] = band_level_db(band_src, 48_000)
        row["band8k_output_db"] = band_level_db(converted, 48_000)
        row["band8k_change_db"] = row["band8k_output_db"] - row["band8k_source_db"]
        total = band_level_db(converted, 48_000, 0.0) - band_level_db(band_src, 48_000, 0.0)
        row["level_change_db"] = total  # the emotion's own level change, all bands
        row["band8k_vs_level_db"] = row["band8k_change_db"] - total
        out.append(row)
    return pd.DataFrame(out)


def markdown_table(frame: pd.DataFrame, digits: int = 2) -> str:
    """A plain markdown table (floats rounded)."""
    if frame.empty:
        return "(no rows)"
    cols = list(frame.columns)

    def cell(v) -> str:
        if isinstance(v, (bool, np.bool_)):
            return "yes" if v else "**no**"
        if isinstance(v, (float, np.floating)):
            return "–" if not np.isfinite(v) else f"{v:.{digits}f}"
        return str(v)

    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    lines += ["| " + " | ".join(cell(v) for v in r) + " |" for r in frame.itertuples(index=False)]
    return "\n".join(lines)
