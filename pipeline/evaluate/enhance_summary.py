"""Tables of the enhancement evaluation: metric names, per-SNR means and the issue's targets.

:func:`summarize` turns the per-file scores of :func:`pipeline.evaluate.enhance_report.
evaluate_enhancement` into means per system and input SNR; :func:`enhancement_targets`
checks them (and the resource table) against the issue's targets on the 0-10 dB average.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

from pipeline.evaluate.targets import Target, check

TARGET_SNRS = (0.0, 5.0, 10.0)  #: the issue's targets average over these input SNRs
METRICS = (
    "pesq_wb",
    "stoi",
    "estoi",
    "si_sdr",
    "pause_atten_db",
    "dnsmos_sig",
    "dnsmos_bak",
    "dnsmos_ovrl",
    "dnsmos_p808",
    "lsd_hi_db",
    "energy_ratio_hi_db",
)
METRIC_LABELS = {
    "pesq_wb": "PESQ-WB",
    "stoi": "STOI",
    "estoi": "ESTOI",
    "si_sdr": "SI-SDR (dB)",
    "pause_atten_db": "pause noise (dB)",
    "dnsmos_sig": "SIG",
    "dnsmos_bak": "BAK",
    "dnsmos_ovrl": "OVRL",
    "dnsmos_p808": "P.808",
    "lsd_hi_db": "LSD >8 kHz (dB)",
    "energy_ratio_hi_db": "energy >8 kHz vs clean (dB)",
}
#: metrics broken down by speech source and noise kind in the report
BREAKDOWN_METRICS = (
    "pesq_wb",
    "stoi",
    "si_sdr",
    "dnsmos_ovrl",
    "lsd_hi_db",
    "energy_ratio_hi_db",
)


def summarize(per_file: pd.DataFrame, systems: Sequence[str]) -> pd.DataFrame:
    """Mean metrics per system and input SNR, plus ``snr = "0-10"`` (the targets' average)
    and ``"all"``. Columns: ``system, snr, n`` and every metric present."""
    metrics = [m for m in METRICS if m in per_file.columns]
    parts = []
    for snr, group in per_file.groupby("snr_db"):
        agg = group.groupby("system")[metrics].mean()
        agg["n"] = group.groupby("system").size()
        parts.append(agg.assign(snr=f"{snr:g}"))
    for label, mask in (
        ("0-10", per_file["snr_db"].isin(TARGET_SNRS)),
        ("all", pd.Series(True, index=per_file.index)),
    ):
        sub = per_file[mask]
        if len(sub):
            agg = sub.groupby("system")[metrics].mean()
            agg["n"] = sub.groupby("system").size()
            parts.append(agg.assign(snr=label))
    if not parts:
        return pd.DataFrame(columns=["system", "snr", "n", *metrics])
    out = pd.concat(parts).reset_index()
    order = {s: i for i, s in enumerate(systems)}
    out["_s"] = out["snr"].map(lambda label: {"0-10": 1e6, "all": 1e7}.get(label) or float(label))
    out["_o"] = out["system"].map(order)
    out = out.sort_values(["_s", "_o"])
    return out[["system", "snr", "n", *metrics]].reset_index(drop=True)


def _value(summary: pd.DataFrame, system: str, metric: str, snr: str = "0-10") -> float:
    sel = summary[(summary["system"] == system) & (summary["snr"] == snr)]
    return float(sel[metric].iloc[0]) if len(sel) and metric in sel else math.nan


def _rtf(resources: pd.DataFrame, system: str, column: str = "rtf") -> float:
    sel = resources[resources["system"] == system]
    return float(sel[column].iloc[0]) if len(sel) else math.nan


def enhancement_targets(
    summary: pd.DataFrame, resources: pd.DataFrame, *, gan: str
) -> list[Target]:
    """The issue's targets, on the 0-10 dB average (``nan`` values fail with "not measured")."""
    pesq = {s: _value(summary, s, "pesq_wb") for s in ("noisy", "dsp", gan, "deepfilternet3")}
    ovrl = {s: _value(summary, s, "dnsmos_ovrl") for s in ("noisy", gan, "deepfilternet3")}
    rtf_gan, rtf_dfn = _rtf(resources, gan), _rtf(resources, "deepfilternet3")
    return [
        check(f"PESQ-WB gain of {gan} over noisy", pesq[gan] - pesq["noisy"], ">=", 0.8),
        check(f"PESQ-WB of {gan} minus dsp", pesq[gan] - pesq["dsp"], ">=", 0.4),
        check(f"DNSMOS OVRL gain of {gan} over noisy", ovrl[gan] - ovrl["noisy"], ">=", 0.8),
        check(
            f"PESQ-WB of {gan} minus DeepFilterNet3 (goal)",
            pesq[gan] - pesq["deepfilternet3"],
            ">=",
            0.0,
        ),
        check(
            f"DNSMOS OVRL of {gan} minus DeepFilterNet3 (goal)",
            ovrl[gan] - ovrl["deepfilternet3"],
            ">=",
            0.0,
        ),
        check(f"real-time factor of {gan}", rtf_gan, "<=", 0.05),
        check(
            f"CPU-time RTF of {gan} (unaffected by other jobs)",
            _rtf(resources, gan, "cpu_rtf"),
            "<=",
            0.05,
        ),
        check(f"RTF of {gan} minus DeepFilterNet3's", rtf_gan - rtf_dfn, "<", 0.0),
    ]
