"""The issue-14 prosody-target section of ``python -m pipeline.evaluate emotion``.

Runs :mod:`pipeline.evaluate.emotion_prosody` on the evaluation's held-out clips and systems
and turns the results into markdown tables and :class:`~pipeline.evaluate.targets.Target`
checks: direction rule >= 90 % per emotion, monotone intensity, reference tracking r >= 0.7,
the band above 8 kHz within 6 dB of the source at 48 kHz input, and RTF <= 0.3.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from pipeline.audio import read_audio, resample
from pipeline.evaluate.emotion_prosody import (
    ReferenceClip,
    intensity_sweep,
    markdown_table,
    monotonicity,
    pearson_tracking,
    profile_table,
    reference_tracking,
    speed_and_band,
)
from pipeline.evaluate.targets import Target, check, targets_markdown

PSEUDO = ("source", "world")
#: the joined per-system tables (cached per system as ``<name>_<system>.csv``)
TABLE_FILES = {"sweep": "intensity_sweep.csv", "speed": "speed_band.csv"}


def _bench_wave(paths: list[Path], seconds: float = 5.0) -> np.ndarray:
    """About ``seconds`` of held-out speech at 16 kHz (clips concatenated)."""
    pieces, total = [], 0
    for path in paths:
        audio = read_audio(path, max_seconds=None)
        wave = resample(audio.wave, audio.sample_rate, 16_000)
        pieces.append(wave)
        total += len(wave)
        if total >= seconds * 16_000:
            break
    return np.concatenate(pieces)[: int(seconds * 16_000)]


def _per_system_table(config, systems: list[str], name: str, compute, empty: pd.DataFrame):
    """``compute(system)`` of every system, each cached as ``<out>/<name>_<system>.csv`` (systems
    in ``config.reuse`` are never run again: their cached CSV is read when it exists), joined
    (``empty`` when there is nothing) and written as ``<out>/<table file of name>``."""
    out = Path(config.out_dir)
    frames = []
    for system in systems:  # per system, so a later run can reuse unchanged systems
        cached = out / f"{name}_{system}.csv"
        if system in config.reuse:
            frames += [pd.read_csv(cached)] if cached.is_file() else []
            continue
        frames.append(compute(system))
        frames[-1].to_csv(cached, index=False)
    table = pd.concat(frames, ignore_index=True) if frames else empty
    table.to_csv(out / TABLE_FILES[name], index=False)
    return table


def _table_section(
    heading: list[str], table: pd.DataFrame, gan: str
) -> tuple[list[str], pd.DataFrame]:
    """A section's lines (``heading``, then ``table`` in markdown) and ``table``'s rows of
    ``gan``, which its targets check."""
    return [*heading, "", markdown_table(table), ""], table[table["system"] == gan]


def _profile_section(rows: pd.DataFrame, out: Path, gan: str) -> tuple[list[str], list[Target]]:
    """Shifts at intensity 1 vs the literature profile; the direction rule per emotion."""
    prof = profile_table(rows)
    prof.to_csv(out / "profile_shifts.csv", index=False)
    heading = [
        "### Prosody shifts at intensity 1 vs the literature profile, and the direction rule",
        "",
        "Output minus source on the same clip: F0 mean and F0 spread (SD) in semitones, level "
        "in dB, rate = source / output duration. `direction_ok` = share of clips obeying the "
        "rule (happy/angry/surprise: F0 up and (spread or level up); sad: F0 down and "
        "(level or spread down)).",
    ]
    lines, rows_of_gan = _table_section(heading, prof, gan)
    targets = [
        check(f"direction rule, {gan}, {r['emotion']}", r["direction_ok"], ">=", 0.9)
        for _, r in rows_of_gan.iterrows()
    ]
    return lines, targets


def _sweep_section(
    sources, registry, config, converting: list[str], progress
) -> tuple[list[str], list[Target]]:
    """Mean shifts along the intensity sweep and whether they rise monotonically."""
    out, gan = Path(config.out_dir), config.gan
    paths = [s.path for s in sources[: config.sweep_clips]]
    sweep = _per_system_table(
        config,
        converting,
        "sweep",
        lambda system: intensity_sweep(registry, [system], paths, progress=progress),
        pd.DataFrame(),
    )
    mono = monotonicity(sweep) if len(sweep) else pd.DataFrame(columns=["system"])
    mono.to_csv(out / "monotonicity.csv", index=False)
    heading = [f"### Intensity sweep ({len(paths)} clips; mean shifts at 0, .25, .5, .75, 1)"]
    lines, g = _table_section(heading, mono, gan)
    if not len(g):
        return lines, []
    ok = g[["f0_monotone", "energy_monotone", "rate_monotone"]].to_numpy().all(axis=1)
    target = check(
        f"intensity monotone (F0, level, rate), {gan}: share of emotions",
        float(ok.mean()),
        ">=",
        1.0,
    )
    return lines, [target]


def _reference_section(
    table, sources, registry, config, progress
) -> tuple[list[str], list[Target]]:
    """Reference mode: does the output follow a held-out reference's prosody (Pearson r)?"""
    out, gan = Path(config.out_dir), config.gan
    test = table[table["split"] == "test"]
    refs = [
        ReferenceClip(Path(p), s) for p, s in zip(test["abs_path"], test["speaker"], strict=True)
    ]
    rng = np.random.default_rng(config.seed)
    refs = [refs[i] for i in rng.permutation(len(refs))]
    cached = out / "reference_pairs.csv"
    if gan in config.reuse and cached.is_file():
        pairs = pd.read_csv(cached)
        r = pearson_tracking(pairs)
    else:
        pairs, r = reference_tracking(
            registry,
            gan,
            [s.path for s in sources],
            refs,
            pairs=config.reference_pairs,
            progress=progress,
        )
        pairs.to_csv(cached, index=False)
    lines = [
        f"### Reference mode ({len(pairs)} pairs, held-out references of every label, "
        "normalised by their own speaker's mean over up to 8 clips)",
        "",
        f"Pearson r, reference move vs output move: F0 mean {r.get('f0_mean', float('nan')):.3f}, "
        f"level {r.get('energy', float('nan')):.3f}.",
        "",
    ]
    targets = [
        check(f"reference tracking r (F0 mean), {gan}", r.get("f0_mean", np.nan), ">=", 0.7),
        check(f"reference tracking r (level), {gan}", r.get("energy", np.nan), ">=", 0.7),
    ]
    return lines, targets


def _speed_section(
    sources, registry, config, converting: list[str]
) -> tuple[list[str], list[Target]]:
    """Real-time factor at 16 and 48 kHz input, and the level change above 8 kHz."""
    gan = config.gan
    bench = _bench_wave([s.path for s in sources])
    speed = _per_system_table(
        config,
        converting,
        "speed",
        lambda system: speed_and_band(registry, [system], bench),
        pd.DataFrame(columns=["system"]),
    )
    heading = [
        "### Real-time factor and the band above 8 kHz (angry, intensity 1)",
        "",
        "RTF = processing time / audio duration for 5 s of held-out speech, analysis and "
        "synthesis included, wall clock and this process's CPU time (the machine is shared: "
        "`load_avg` is the 1-minute load average at the time). Band: 3 s synthetic voice at "
        "48 kHz with speech-following noise at 9-15 kHz (`full_band_voice`); level above 8 kHz "
        "before/after, and that change minus the conversion's whole-band level change.",
    ]
    lines, row = _table_section(heading, speed, gan)
    if not len(row):
        return lines, []
    row = row.iloc[0]
    targets = [
        check(f"RTF (wall) at {sr} input, {gan}", row[f"rtf_wall_{sr}"], "<=", 0.3)
        for sr in ("16k", "48k")
    ]
    targets.append(
        check(
            f"band > 8 kHz change vs whole-band level change, {gan} (|dB|)",
            abs(row["band8k_vs_level_db"]),
            "<=",
            6.0,
        )
    )
    return lines, targets


def prosody_checks(
    rows, table, sources, registry, config, systems, progress
) -> tuple[str, list[Target]]:
    """Markdown section and targets (see the module docstring); CSVs go to ``config.out_dir``."""
    converting = [s for s in systems if s not in PSEUDO]
    lines = ["## Prosody targets (issue 14)", ""]
    section, targets = _profile_section(rows, Path(config.out_dir), config.gan)
    lines += section
    section, more = _sweep_section(sources, registry, config, converting, progress)
    lines, targets = lines + section, targets + more
    if config.reference_pairs > 0 and config.gan in converting:
        section, more = _reference_section(table, sources, registry, config, progress)
        lines, targets = lines + section, targets + more
    section, more = _speed_section(sources, registry, config, converting)
    lines, targets = lines + section, targets + more
    lines += ["### Prosody target checks", "", targets_markdown(targets)]
    return "\n".join(lines), targets
