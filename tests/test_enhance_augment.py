"""Augmentation transforms noisy and clean identically and keeps the segment length."""

from __future__ import annotations

import numpy as np

from pipeline.enhance.data import AugmentConfig, augment_pair
from pipeline.signals import coloured_noise, synthetic_voice


def test_pair_stays_consistent_and_length_is_kept():
    clean = synthetic_voice(1.2, 16_000, seed=3) * 0.5
    noise = coloured_noise("pink", len(clean), 4) * 0.01
    settings = AugmentConfig(p_speed=1.0, p_channel=1.0)
    for seed in range(3):
        noisy_a, clean_a = augment_pair(
            clean + noise, clean, 16_000, np.random.default_rng(seed), settings
        )
        noise_a, zero_a = augment_pair(
            noise, 0 * clean, 16_000, np.random.default_rng(seed), settings
        )
        assert noisy_a.shape == clean_a.shape == (16_000,)
        assert not np.allclose(clean_a, clean[:16_000])  # something was applied
        # linear, identical transforms: (noisy - clean) is the transformed noise
        np.testing.assert_allclose(noisy_a - clean_a, noise_a, atol=1e-4)
        assert np.max(np.abs(zero_a)) < 1e-6


def test_off_by_default():
    assert not AugmentConfig().active
