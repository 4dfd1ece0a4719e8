"""Error mapping of the UI handlers and the one quality call of the API (no browser, no model)."""

from __future__ import annotations

import logging

import gradio as gr
import numpy as np
import pytest

from pipeline import api
from pipeline.audio import AudioError
from pipeline.signals import synthetic_voice
from pipeline.systems import ConversionRequestError, check_emotion
from ui.common import INTERNAL_ERROR, user_errors


@pytest.mark.parametrize(
    "error",
    [AudioError("too short: 0.01 s\nmore"), ConversionRequestError("unknown emotion 'bored'")],
)
def test_project_errors_become_one_line_messages(error: Exception) -> None:
    with pytest.raises(gr.Error) as caught, user_errors():
        raise error
    assert caught.value.message == str(error).splitlines()[0]


def test_other_exceptions_are_logged_and_shown_as_internal(caplog) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(gr.Error) as caught, user_errors():
        raise ValueError("a bug, not the user's fault")
    assert caught.value.message == INTERNAL_ERROR
    assert "a bug, not the user's fault" in caplog.text  # the traceback went to the log
    with pytest.raises(gr.Error, match="already for the user"), user_errors():
        raise gr.Error("already for the user")


def test_bad_emotion_request_is_a_project_error() -> None:
    with pytest.raises(ConversionRequestError, match="unknown emotion"):
        check_emotion("bored", 0.5)
    with pytest.raises(ConversionRequestError, match="intensity"):
        check_emotion("sad", 1.5)


class _FixedScorer:
    def score(self, wave: np.ndarray, sr: int) -> dict[str, float]:
        return {"sig": 3.0, "bak": 2.0, "ovrl": 2.5, "p808": 3.1}


def test_quality_gives_dnsmos_and_reference_figures() -> None:
    clean = synthetic_voice(1.5, 16_000)
    noisy = clean + 0.03 * np.random.default_rng(0).standard_normal(len(clean)).astype(np.float32)
    only_dnsmos = api.quality({"x": (noisy, 16_000)}, scorer=_FixedScorer)
    assert set(only_dnsmos.dnsmos["x"]) == {"sig", "bak", "ovrl", "p808"}
    assert only_dnsmos.intrusive == {}
    both = api.quality({"x": (noisy, 16_000)}, reference=(clean, 16_000), scorer=_FixedScorer)
    assert set(both.intrusive["x"]) == {"pesq_wb", "stoi", "estoi", "si_sdr"}
    same = api.quality({"x": (clean, 16_000)}, reference=(clean, 16_000), scorer=_FixedScorer)
    same, both = same.intrusive["x"], both.intrusive["x"]
    assert same["si_sdr"] > both["si_sdr"] + 20.0 and same["stoi"] > both["stoi"]
