"""The envelope GAN as a conversion system: profile or reference → prosody → matching envelope.

``wave`` at the caller's rate ``sr`` → 16 kHz → WORLD features (:func:`~pipeline.emotion.features.analyze`)
→ :func:`move_prosody`:

1. F0: the mean log-F0 of the voiced frames moves by ``profile.f0_shift_st`` and deviations
   from it are scaled by ``profile.f0_spread``;
2. envelope: the generator renders the envelope for the source prosody and for the moved
   prosody (F0 and energy), from the same content and speaker code; their ratio, a per-frame
   spectral gain with frame power kept, multiplies the source envelope (``envelope_weight``
   scales it);
3. level: ``profile.energy_db`` on every frame;
4. rate: a global time-scale by ``profile.rate``;

→ WORLD synthesis at 16 kHz → back to ``sr``; above 8 kHz a faster input keeps its own band,
time-stretched and gained per frame like the converted 4-8 kHz envelope
(:mod:`pipeline.emotion.band`) → one gain that sets the speech level (active frames,
:func:`~pipeline.emotion.prosody.speech_level_db`) to the source's plus ``energy_db``
(WORLD's level drifts with F0 otherwise) → peak limiter (:func:`pipeline.emotion.dsp.limit_peaks`).
Intensity scales the profile (:meth:`ProsodyProfile.scaled`) and every component grows
monotonically with it. Intensity 0 (an identity profile, with or without a reference) returns
the input unchanged, sample for sample (:func:`pipeline.systems.unchanged`), as every
conversion system does: a WORLD round trip alone would already move the measured F0.
"""

from __future__ import annotations

import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from pipeline.audio import fit_length, resample
from pipeline.cards import ModelCard
from pipeline.checkpoint import load_model
from pipeline.emotion import features as wf
from pipeline.emotion.band import carry_band, envelope_band_gain
from pipeline.emotion.data import frame_features
from pipeline.emotion.dsp import limit_peaks
from pipeline.emotion.envelope.model import EnvelopeGenerator
from pipeline.emotion.normalize import Normalizer, utterance_means
from pipeline.emotion.profiles import ProsodyProfile, emotion_profile
from pipeline.emotion.prosody import speech_level_db
from pipeline.emotion.reference import checked_reference_stats, reference_profile
from pipeline.systems import ConversionSystem, check_emotion, unchanged

LN_SEMITONE = math.log(2.0) / 12.0
#: the generator's envelope change is limited to ± this per bin (dB): a safety net only
MAX_ENVELOPE_DB = 12.0


class EnvelopeRenderer:
    """The trained generator with its normaliser: the envelope gain for a prosody move."""

    def __init__(self, generator: EnvelopeGenerator, *, weight: float = 1.0) -> None:
        self.generator = generator.eval()
        self.normalizer = Normalizer.from_generator(generator)
        self.weight = float(weight)

    @torch.no_grad()
    def log_gain(
        self, world: wf.WorldFeatures, target_lf0: np.ndarray, energy_db: float
    ) -> np.ndarray:
        """``(T, bins)`` natural-log power gain on ``world``'s frequency grid.

        Args:
            world: source features at 16 kHz (the generator's rate).
            target_lf0: ``(T,)`` moved continuous log-F0 (ln Hz).
            energy_db: the level change of the move.
        """
        if world.sample_rate != wf.SAMPLE_RATE:
            raise ValueError(f"the generator works at {wf.SAMPLE_RATE} Hz, got {world.sample_rate}")
        feats = frame_features(world, self.generator.n_spec)
        means = utterance_means(feats)
        spec, pros, voiced = (
            torch.from_numpy(a)[None] for a in self.normalizer.normalize(feats, *means)
        )
        scale = self.normalizer.prosody_scale
        moved = pros.clone()
        moved[0, 0] = torch.from_numpy(((target_lf0 - means[0]) / scale[0]).astype(np.float32))
        moved[0, 1] = pros[0, 1] + float(energy_db) / float(scale[1])
        g = self.generator
        code = g.speaker_code(spec)
        both = g(
            torch.cat([spec, spec]),
            torch.cat([pros, moved]),
            torch.cat([voiced, voiced]),
            spec,
            code=torch.cat([code, code]),
        )
        delta = (both[1] - both[0]).numpy().T * self.normalizer.spec_std  # (T, D) coded
        gain = wf.decode_envelope(
            self.weight * delta.astype(np.float64), world.sample_rate, world.fft_size
        )
        limit = MAX_ENVELOPE_DB * math.log(10.0) / 10.0
        return np.clip(np.log(np.maximum(gain, 1e-20)), -limit, limit)


def move_prosody(
    world: wf.WorldFeatures, profile: ProsodyProfile, renderer: EnvelopeRenderer | None = None
) -> wf.WorldFeatures:
    """Apply ``profile`` to ``world`` (see the module docstring); ``renderer=None``: prosody only."""
    lf0, voiced = world.log_f0()
    sp = world.sp
    if voiced.any():
        mu = float(lf0[voiced].mean())
        lf0 = mu + profile.f0_shift_st * LN_SEMITONE + profile.f0_spread * (lf0 - mu)
        lf0 = np.clip(lf0, math.log(wf.F0_FLOOR * 0.7), math.log(wf.F0_CEIL * 1.5))
        if renderer is not None:
            gain = np.exp(renderer.log_gain(world, lf0, profile.energy_db))
            shaped = sp * gain
            power = np.mean(sp, axis=1, keepdims=True)
            sp = shaped * (power / np.maximum(np.mean(shaped, axis=1, keepdims=True), 1e-30))
    sp = sp * 10.0 ** (profile.energy_db / 10.0)
    out = replace(world, f0=wf.f0_from_log(lf0, voiced), sp=sp)
    if not math.isclose(profile.rate, 1.0):
        out = wf.time_scale(out, profile.rate)
    return out


class EnvelopeGanConverter(ConversionSystem):
    """Emotion conversion with literature profiles or a reference clip, envelopes by the GAN.

    Args:
        folder: ``checkpoints/emotion/<name>/`` with ``model.pt``; ``None``: no generator
            (prosody moves only — used by tests and as the GAN's ablation).
        card: the folder's model card.
    """

    sample_rate = wf.SAMPLE_RATE  # WORLD and the generator run at 16 kHz; the band above is carried
    takes_reference = True  # convert(..., reference=(wave, sr)) is supported

    def __init__(self, folder: Path | None = None, *, card: ModelCard | None = None) -> None:
        self.renderer = None
        self.name = "envelope-gan" if folder is None else Path(folder).name
        if folder is not None:
            model, meta = load_model(Path(folder) / "model.pt")
            if not isinstance(model, EnvelopeGenerator):
                raise TypeError(
                    f"{folder}: expected an EnvelopeGenerator, got {type(model).__name__}"
                )
            weight = float(meta.get("extra", {}).get("envelope_weight", 1.0))
            self.renderer = EnvelopeRenderer(model, weight=weight)
        self._card = card or ModelCard(
            name=self.name,
            task="emotion",
            title=self.name,
            kind="user",
            summary="Prosody profiles without a trained envelope generator.",
        )

    @property
    def card(self) -> ModelCard:
        return self._card

    def convert_profile(self, wave: np.ndarray, sr: int, profile: ProsodyProfile) -> np.ndarray:
        """Move ``wave`` (``(n,)`` float32 at ``sr``) by ``profile`` → ``(≈ n / rate,)`` at ``sr``;
        the identity profile returns ``wave`` unchanged."""
        if profile == ProsodyProfile():
            return unchanged(wave)
        x = np.asarray(wave, dtype=np.float32)
        native = wf.SAMPLE_RATE
        x16 = resample(x, sr, native)
        world = wf.analyze(x16, native)
        moved = move_prosody(world, profile, self.renderer)
        out = wf.synthesize(moved, n_samples=int(round(len(x16) / profile.rate)))
        work, ref = native, x16
        if sr > native:  # keep the input's band above 8 kHz, gained like the converted 4-8 kHz
            low = fit_length(resample(out, native, sr), int(round(len(x) / profile.rate)))
            gain = envelope_band_gain(world, moved)
            out = carry_band(x, low, sr, gain, moved.frame_period, native)
            work, ref = sr, x
        # WORLD's output level drifts with F0 (the envelope is sampled at other harmonics):
        # set the speech level to the source's plus the profile's change
        change = speech_level_db(ref, work) + profile.energy_db - speech_level_db(out, work)
        if np.isfinite(change):
            out = out * np.float32(10.0 ** (change / 20.0))
        return resample(limit_peaks(out, work), work, sr)

    def convert(
        self,
        wave: np.ndarray,
        sr: int,
        emotion: str | None,
        intensity: float,
        *,
        reference: tuple[np.ndarray, int] | None = None,
    ) -> np.ndarray:
        """Towards ``emotion``'s profile, or towards ``reference`` (``(wave, sr)``) when given
        (then ``emotion`` may be ``None``); ``intensity`` in [0, 1] scales the move, and 0
        returns ``wave`` unchanged (a reference is still checked for usable speech)."""
        if reference is None:
            check_emotion(emotion or "", intensity)
            profile = emotion_profile(emotion, intensity)
        else:
            check_emotion("neutral", intensity)  # intensity check only
            if float(intensity) == 0.0:
                checked_reference_stats(*reference)
                return unchanged(wave)
            profile = reference_profile(reference[0], reference[1], wave, sr).scaled(intensity)
        return self.convert_profile(wave, sr, profile)

    def convert_native(self, wave: np.ndarray, emotion: str, intensity: float) -> np.ndarray:
        return self.convert_profile(wave, self.sample_rate, emotion_profile(emotion, intensity))
