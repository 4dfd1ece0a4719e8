"""The trained emotion GAN as a :class:`~pipeline.systems.ConversionSystem`.

``wave`` → WORLD analysis (DIO, 16 kHz) → normalised features → :class:`EmotionGenerator`
→ features interpolated with the source by ``intensity`` → envelope, F0 and energy rebuilt
on the *source* WORLD parameters → global time-scale by the target emotion's rate ratio →
WORLD synthesis.

Intensity ``a`` in [0, 1] interpolates *features*, not the condition code: in the
normalised domain ``x_a = x_src + a (G(x_src, target) - x_src)`` for the coded envelope,
log-F0 and energy, and the rate factor is ``exp(a * log_rate[target])``. The generator was
only trained on one-hot codes, so feature interpolation is the variant that stays on
trained ground, is monotone in ``a`` by construction, and makes ``a = 0`` exactly the
source features. ``a = 0`` returns the input unchanged, no resynthesis
(:func:`pipeline.systems.unchanged`, the contract of every conversion system).

The envelope is changed *differentially*: the source envelope is multiplied by
``(decode(coded_converted) / decode(coded_source)) ** envelope_weight``, so fine spectral
detail that the 36-dim coding discards is kept. ``envelope_weight`` (in the checkpoint's
``extra``, default 1) scales the envelope change at every intensity: the envelope change is
what carries most of the emotion (and most of the loss of speaker similarity), so the shipped
operating point is chosen on validation speakers (``scripts/tune_emotion_envelope.py``); the frame energy is then set to source energy plus the
converted energy change (in pauses: the mean change over active frames, so background
noise is not reshaped).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch

from pipeline.cards import ModelCard
from pipeline.checkpoint import load_model
from pipeline.constants import EMOTIONS
from pipeline.emotion import features as wf
from pipeline.emotion.data import frame_features
from pipeline.emotion.model import EmotionGenerator
from pipeline.emotion.normalize import Normalizer, utterance_means
from pipeline.emotion.prosody import active_frames
from pipeline.systems import ConversionSystem, unchanged

log = logging.getLogger(__name__)


class GanConverter(ConversionSystem):
    """Emotion conversion with a trained :class:`EmotionGenerator` checkpoint folder.

    Args:
        folder: ``checkpoints/emotion/<name>/`` holding ``model.pt``.
        card: the folder's model card (read by the registry).
    """

    def __init__(self, folder: Path, *, card: ModelCard) -> None:
        self.folder = Path(folder)
        model, meta = load_model(self.folder / "model.pt")
        if not isinstance(model, EmotionGenerator):
            raise TypeError(
                f"{self.folder}: expected an EmotionGenerator, got {type(model).__name__}"
            )
        self.generator = model
        self.sample_rate = int(meta["sample_rate"])
        self.name = self.folder.name
        self.extra = dict(meta.get("extra", {}))
        self.envelope_weight = float(self.extra.get("envelope_weight", 1.0))
        if not 0.0 <= self.envelope_weight <= 1.0:
            raise ValueError(f"{self.folder}: envelope_weight must be in [0, 1]")
        self.normalizer = Normalizer.from_generator(model)
        self._card = card

    @property
    def card(self) -> ModelCard:
        return self._card

    def convert_native(self, wave: np.ndarray, emotion: str, intensity: float) -> np.ndarray:
        """``(n,)`` float32 at :attr:`sample_rate` → ``(m,)`` float32, ``m ≈ n / rate``."""
        if intensity <= 0.0:
            return unchanged(wave)
        world = wf.analyze(np.asarray(wave, dtype=np.float64), self.sample_rate)
        converted = convert_world(
            self.generator,
            self.normalizer,
            world,
            emotion,
            intensity,
            envelope_weight=self.envelope_weight,
        )
        return wf.synthesize(converted, n_samples=converted.n_samples)


@torch.no_grad()
def convert_world(
    generator: EmotionGenerator,
    normalizer: Normalizer,
    world: wf.WorldFeatures,
    emotion: str,
    intensity: float,
    *,
    envelope_weight: float = 1.0,
) -> wf.WorldFeatures:
    """Convert WORLD parameters of one utterance towards ``emotion`` (see module docstring).

    ``envelope_weight`` in [0, 1] scales the spectral-envelope change (1: the generator's
    full change; 0: prosody only).

    Returns:
        New :class:`~pipeline.emotion.features.WorldFeatures` (possibly with a different
        number of frames when the target emotion changes the speaking rate).
    """
    target = EMOTIONS.index(emotion)
    feats = frame_features(world, generator.n_spec)
    means = utterance_means(feats)
    spec, pros, voiced = (torch.from_numpy(a)[None] for a in normalizer.normalize(feats, *means))
    n = feats.n_frames
    cond = torch.zeros(1, generator.n_emotions)
    cond[0, target] = 1.0
    pad = EmotionGenerator.pad_frames
    spec_out, pros_out = generator(pad(spec), pad(pros), pad(voiced), cond)
    spec_out = spec_out[0, :, :n].numpy()
    pros_out = pros_out[0, :, :n].numpy()
    # feature interpolation in the normalised domain
    spec_a = spec[0].numpy() + intensity * (spec_out - spec[0].numpy())
    pros_a = pros[0].numpy() + intensity * (pros_out - pros[0].numpy())
    coded, lf0, energy = normalizer.denormalize(spec_a, pros_a, *means)

    fft_size = world.fft_size
    # decoding is linear in the log domain, so decode(a - b) = decode(a) / decode(b)
    delta = envelope_weight * (coded - feats.spec).astype(np.float64)
    sp = world.sp * wf.decode_envelope(delta, world.sample_rate, fft_size)
    old_power = np.maximum(np.mean(world.sp, axis=1), 1e-20)
    gain_db = np.clip(energy - feats.energy, -20.0, 20.0)
    active = active_frames(feats.energy)
    if active.any():  # pauses follow the mean level change, not their own (noise) contour
        gain_db = np.where(active, gain_db, float(gain_db[active].mean()))
    sp *= (old_power * 10.0 ** (gain_db / 10.0) / np.maximum(np.mean(sp, axis=1), 1e-20))[:, None]
    f0 = wf.f0_from_log(lf0.astype(np.float64), world.voiced)
    f0 = np.where(world.voiced, np.clip(f0, wf.F0_FLOOR, wf.F0_CEIL), 0.0)
    out = replace(world, f0=f0, sp=sp)
    rate = float(np.exp(intensity * float(generator.log_rate[target])))
    if abs(rate - 1.0) > 1e-3:
        out = wf.time_scale(out, rate)
    return out
