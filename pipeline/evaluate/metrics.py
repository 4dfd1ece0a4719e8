"""Objective speech-quality metrics, in one place for training validation, reports and the UI.

All functions take ``(samples,)`` float arrays in [-1, 1]; ``reference`` is the clean
signal, ``estimate`` the processed one, both at ``sr`` Hz and of equal length (the shorter
length is used if they differ).
"""

from __future__ import annotations

import logging

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
