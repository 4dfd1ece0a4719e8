"""Objective speech-quality metrics, in one place for training validation, corpora screening,
evaluation reports and the UI.

Intrusive (PESQ-WB, STOI/ESTOI, SI-SDR, SNR, pause attenuation): all functions take
``(samples,)`` float arrays in [-1, 1]; ``reference`` is the clean signal, ``estimate`` the
processed one, both at ``sr`` Hz and of equal length (the shorter length is used if they
differ).

Non-intrusive: DNSMOS P.835 (SIG, BAK, OVRL) and P.808 via the ``speechmos`` package.

DNSMOS (Reddy et al., ICASSP 2022) scores 9.01 s windows of 16 kHz audio, hopped by 1 s,
and averages them. The reference implementation lengthens a shorter clip by doubling it
until it reaches 9.01 s and then scores every 1 s hop of the doubled signal, so a 2 s clip
costs 8 windows of nearly the same (circularly shifted) content. ``short_clips="reference"``
(default) keeps that behaviour, so numbers stay comparable with published ones;
``short_clips="single"`` tiles a short clip to exactly 9.01 s and scores that one window
(4-8x cheaper on 1-3 s clips; on 18 test clips of 0.8-4.7 s the OVRL differed from the
reference by 0.03 on average, 0.19 at most). Scores are on the 1-5 MOS scale.

The two ONNX sessions live inside a :class:`DnsmosScorer` object; build one per process
(or use :func:`default_dnsmos`) and call :meth:`DnsmosScorer.score` as often as needed.
"""

from __future__ import annotations

import logging
import threading
from functools import lru_cache
from pathlib import Path

import numpy as np

from pipeline.audio import resample

log = logging.getLogger(__name__)

PESQ_RATE = 16_000


def _pair(reference: np.ndarray, estimate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = min(len(reference), len(estimate))
    return (
        np.asarray(reference[:n], dtype=np.float64),
        np.asarray(estimate[:n], dtype=np.float64),
    )


def si_sdr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Scale-invariant signal-to-distortion ratio in dB (Le Roux et al., 2019)."""
    ref, est = _pair(reference, estimate)
    ref = ref - ref.mean()
    est = est - est.mean()
    alpha = np.dot(est, ref) / max(np.dot(ref, ref), 1e-12)
    target = alpha * ref
    noise = est - target
    return float(
        10 * np.log10(max(np.dot(target, target), 1e-12) / max(np.dot(noise, noise), 1e-12))
    )


def snr(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Plain SNR in dB of ``estimate`` against ``reference`` (no scaling)."""
    ref, est = _pair(reference, estimate)
    err = est - ref
    return float(10 * np.log10(max(np.dot(ref, ref), 1e-12) / max(np.dot(err, err), 1e-12)))


def pesq_wb(reference: np.ndarray, estimate: np.ndarray, sr: int) -> float:
    """Wide-band PESQ (ITU-T P.862.2) MOS-LQO in [1.04, 4.64]; resamples to 16 kHz.

    Returns ``nan`` when PESQ cannot score the pair (e.g. no utterance detected).
    """
    from pesq import NoUtterancesError, PesqError, pesq

    ref, est = _pair(reference, estimate)
    if sr != PESQ_RATE:
        ref = resample(ref.astype(np.float32), sr, PESQ_RATE)
        est = resample(est.astype(np.float32), sr, PESQ_RATE)
    try:
        return float(pesq(PESQ_RATE, ref, est, "wb"))
    except (NoUtterancesError, PesqError) as err:
        log.debug("PESQ failed: %s", err)
        return float("nan")


def stoi(reference: np.ndarray, estimate: np.ndarray, sr: int, *, extended: bool = False) -> float:
    """STOI (Taal et al., 2011) or, with ``extended=True``, ESTOI (Jensen & Taal, 2016), in [0, 1]."""
    from pystoi import stoi as _stoi

    ref, est = _pair(reference, estimate)
    return float(_stoi(ref, est, sr, extended=extended))


PAUSE_FRAME_S = 0.02
PAUSE_BELOW_PEAK_DB = 45.0


def pause_attenuation_db(
    reference: np.ndarray, noisy: np.ndarray, estimate: np.ndarray, sr: int
) -> float:
    """How much a system lowers the noise where the speech pauses, in dB (negative = quieter).

    Pause frames are the 20 ms frames of ``reference`` more than 45 dB below its loudest
    frame; the result is the energy of ``estimate`` over those frames relative to the energy
    of ``noisy`` over the same frames (``0`` for the unprocessed input, ``nan`` when the
    reference has no pause frames or the input is silent there). PESQ punishes noise left in
    pauses heavily; this isolates that behaviour from speech distortion.
    """
    n = min(len(reference), len(noisy), len(estimate))
    frame = max(1, int(round(PAUSE_FRAME_S * sr)))
    count = n // frame
    if count == 0:
        return float("nan")

    def energies(x: np.ndarray) -> np.ndarray:
        return np.sum(np.square(x[: count * frame].astype(np.float64)).reshape(count, frame), 1)

    ref = energies(np.asarray(reference))
    level = 10 * np.log10(ref + 1e-12)
    pauses = level < level.max() - PAUSE_BELOW_PEAK_DB
    noise_in = float(energies(np.asarray(noisy))[pauses].sum())
    if not pauses.any() or noise_in <= 0:
        return float("nan")
    left = float(energies(np.asarray(estimate))[pauses].sum())
    return float(10 * np.log10(max(left, 1e-12) / noise_in))


def intrusive_metrics(reference: np.ndarray, estimate: np.ndarray, sr: int) -> dict[str, float]:
    """PESQ-WB, STOI, ESTOI and SI-SDR of ``estimate`` against a clean ``reference``."""
    return {
        "pesq_wb": pesq_wb(reference, estimate, sr),
        "stoi": stoi(reference, estimate, sr),
        "estoi": stoi(reference, estimate, sr, extended=True),
        "si_sdr": si_sdr(reference, estimate),
    }


#: the band :func:`high_band_metrics` compares (Hz): above a 16 kHz system's band, up to
#: the top of the full-band references used here (the game voices carry content to 16 kHz)
HIGH_BAND_HZ = (8_000.0, 16_000.0)
HIGH_BAND_FRAME_S = 0.032
HIGH_BAND_ACTIVE_DB = 40.0


def high_band_metrics(
    reference: np.ndarray, estimate: np.ndarray, sr: int, band: tuple[float, float] = HIGH_BAND_HZ
) -> dict[str, float]:
    """How well ``estimate`` keeps the band above 8 kHz of a full-band ``reference``.

    Returns:
        ``lsd_hi_db``: log-spectral distance (dB) over the bins of ``band``: per frame the
        RMS over bins of the difference of 10·log10 power spectra, averaged over the frames
        where the reference is active (within 40 dB of its loudest frame, 32 ms Hann frames,
        hop 8 ms); power floored at 1e-10. ``energy_ratio_hi_db``: band energy of the
        estimate over that of the reference, in dB (0: same energy; very negative: the band
        was removed). Both ``nan`` when ``sr`` is too low to contain the band.
    """
    if sr / 2 < band[1]:
        return {"lsd_hi_db": float("nan"), "energy_ratio_hi_db": float("nan")}
    ref, est = _pair(reference, estimate)
    n_fft = int(2 ** np.ceil(np.log2(HIGH_BAND_FRAME_S * sr)))
    hop = n_fft // 4
    if len(ref) < n_fft:
        return {"lsd_hi_db": float("nan"), "energy_ratio_hi_db": float("nan")}
    frames = 1 + (len(ref) - n_fft) // hop
    index = np.arange(n_fft)[None, :] + hop * np.arange(frames)[:, None]
    window = np.hanning(n_fft)
    spec_ref = np.abs(np.fft.rfft(ref[index] * window, axis=1)) ** 2
    spec_est = np.abs(np.fft.rfft(est[index] * window, axis=1)) ** 2
    freqs = np.fft.rfftfreq(n_fft, 1.0 / sr)
    in_band = (freqs >= band[0]) & (freqs < band[1])
    level = 10 * np.log10(spec_ref.sum(1) + 1e-12)
    active = level >= level.max() - HIGH_BAND_ACTIVE_DB
    diff = 10 * np.log10(spec_ref[:, in_band] + 1e-10) - 10 * np.log10(spec_est[:, in_band] + 1e-10)
    lsd = float(np.mean(np.sqrt(np.mean(diff[active] ** 2, axis=1))))
    ratio = spec_est[:, in_band].sum() / max(spec_ref[:, in_band].sum(), 1e-20)
    return {"lsd_hi_db": lsd, "energy_ratio_hi_db": float(10 * np.log10(max(ratio, 1e-20)))}


DNSMOS_RATE = 16_000
WINDOW_SECONDS = 9.01
KEYS = ("sig", "bak", "ovrl", "p808")


class DnsmosScorer:
    """DNSMOS P.835 + P.808 with the model sessions loaded once.

    Args:
        personalized: use the personalised-DNSMOS P.835 model (penalises interfering
            talkers) instead of the standard one.
        threads: onnxruntime intra-op threads.
        short_clips: ``"reference"`` or ``"single"`` (see the module docstring).
    """

    def __init__(
        self, *, personalized: bool = False, threads: int = 1, short_clips: str = "reference"
    ) -> None:
        if short_clips not in ("reference", "single"):
            raise ValueError(f"short_clips must be 'reference' or 'single', got {short_clips!r}")
        self.short_clips = short_clips
        import onnxruntime as ort
        from speechmos import dnsmos as _dnsmos  # heavy: onnxruntime + librosa

        base = Path(_dnsmos.__file__).resolve().parent
        primary = (
            base / ("pdnsmos_models" if personalized else "dnsmos_models") / "sig_bak_ovr.onnx"
        )
        p808 = base / "dnsmos_models" / "model_v8.onnx"
        self.personalized = personalized
        self._model = _dnsmos.DNSMOS(str(primary), str(p808))
        # speechmos builds sessions with onnxruntime's defaults (all cores, busy-waiting
        # threads); on a small shared CPU one non-spinning thread is faster and predictable.
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        providers = ["CPUExecutionProvider"]
        self._model.onnx_sess = ort.InferenceSession(str(primary), options, providers=providers)
        self._model.p808_onnx_sess = ort.InferenceSession(str(p808), options, providers=providers)
        self._lock = threading.Lock()  # one clip at a time per scorer

    def score(self, wave: np.ndarray, sr: int) -> dict[str, float]:
        """Score one clip.

        Args:
            wave: ``(samples,)`` float in [-1, 1] (values outside are clipped).
            sr: Hz; resampled to 16 kHz inside.
        Returns:
            ``{"sig", "bak", "ovrl", "p808"}`` MOS values (floats, nominally 1-5).
        """
        wave = np.asarray(wave, dtype=np.float32)
        if wave.ndim != 1 or wave.size == 0:
            raise ValueError(f"DNSMOS needs a non-empty 1-D wave, got shape {wave.shape}")
        wave = np.clip(resample(wave, int(sr), DNSMOS_RATE), -1.0, 1.0)
        window = int(WINDOW_SECONDS * DNSMOS_RATE)
        if self.short_clips == "single" and len(wave) < window:
            wave = np.tile(wave, -(-window // len(wave)))[:window]
        with self._lock:
            raw = self._model(wave, DNSMOS_RATE, self.personalized)
        return {
            "sig": float(raw["sig_mos"]),
            "bak": float(raw["bak_mos"]),
            "ovrl": float(raw["ovrl_mos"]),
            "p808": float(raw["p808_mos"]),
        }


@lru_cache(maxsize=2)
def default_dnsmos(personalized: bool = False) -> DnsmosScorer:
    """A process-wide :class:`DnsmosScorer` (created on first use)."""
    return DnsmosScorer(personalized=personalized)


def dnsmos(wave: np.ndarray, sr: int) -> dict[str, float]:
    """Convenience: :meth:`DnsmosScorer.score` with the cached default scorer."""
    return default_dnsmos().score(wave, sr)
