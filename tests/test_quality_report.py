"""pipeline.quality: a metric that cannot run leaves a one-line reason, shown persistently."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import api
from pipeline.audio import resample
from pipeline.quality import REFERENCE_METRICS, QualityReport
from pipeline.signals import synthetic_voice
from ui.enhancement import render_quality

SR = 16_000


class _FixedDnsmos:
    def score(self, wave: np.ndarray, sr: int) -> dict[str, float]:
        return {"sig": 3.0, "bak": 3.5, "ovrl": 2.8, "p808": 3.1}


def _missing_onnxruntime():
    raise ModuleNotFoundError("No module named 'onnxruntime'", name="onnxruntime")


def _pair() -> tuple[np.ndarray, np.ndarray]:
    clean = synthetic_voice(2.0, SR)
    noisy = clean + 0.05 * np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    return clean, noisy


def test_missing_dnsmos_package_becomes_a_note_and_the_rest_is_scored() -> None:
    clean, noisy = _pair()
    report = api.quality(
        {"input": (noisy, SR), "enhanced": (clean, SR)},
        reference=(clean, SR),
        scorer=_missing_onnxruntime,
    )
    assert report.dnsmos == {}
    assert len(report.notes) == 1
    assert "DNSMOS unavailable" in report.notes[0] and "'onnxruntime'" in report.notes[0]
    assert "requirements.txt" in report.notes[0] and "\n" not in report.notes[0]
    assert report.intrusive["enhanced"]["pesq_wb"] > report.intrusive["input"]["pesq_wb"]
    text = render_quality(report, with_reference=True)
    assert "**Note:** DNSMOS unavailable" in text and "PESQ-WB" in text
    assert "SIG" not in text  # no empty DNSMOS table


def test_full_report_has_no_notes() -> None:
    clean, noisy = _pair()
    report = api.quality({"input": (noisy, SR)}, reference=(clean, SR), scorer=_FixedDnsmos)
    assert report.notes == ()
    assert set(report.intrusive["input"]) == {"pesq_wb", "stoi", "estoi", "si_sdr"}
    assert report.dnsmos["input"]["ovrl"] == 2.8


def test_reference_at_another_rate_is_resampled() -> None:
    clean, noisy = _pair()
    other_rate = api.quality(
        {"input": (noisy, SR)}, reference=(resample(clean, SR, 22_050), 22_050), scorer=_FixedDnsmos
    )
    same_rate = api.quality({"input": (noisy, SR)}, reference=(clean, SR), scorer=_FixedDnsmos)
    assert abs(other_rate.intrusive["input"]["stoi"] - same_rate.intrusive["input"]["stoi"]) < 0.02


def test_unscorable_pesq_is_explained(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(REFERENCE_METRICS, "pesq_wb", ("PESQ-WB", lambda *_: float("nan")))
    clean, noisy = _pair()
    report = api.quality({"input": (noisy, SR)}, reference=(clean, SR), scorer=_FixedDnsmos)
    assert report.notes == ("PESQ-WB could not score input (no utterance detected)",)
    assert np.isfinite(report.intrusive["input"]["stoi"])


def test_render_without_reference_invites_one() -> None:
    text = render_quality(
        QualityReport(dnsmos={"input": _FixedDnsmos().score(None, SR)}), with_reference=False
    )
    assert "Add a clean reference" in text and "Note:" not in text


class _FailingDnsmos:
    def score(self, wave: np.ndarray, sr: int) -> dict[str, float]:
        raise RuntimeError("ONNX runtime failed to run the model\nwith details")


def test_dnsmos_failing_at_run_time_becomes_a_one_line_note() -> None:
    clean, noisy = _pair()
    report = api.quality({"input": (noisy, SR)}, scorer=_FailingDnsmos)
    assert report.dnsmos == {}
    assert report.notes == (
        "DNSMOS unavailable: RuntimeError: ONNX runtime failed to run the model",
    )
