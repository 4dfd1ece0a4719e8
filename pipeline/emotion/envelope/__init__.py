"""The label-free envelope GAN: renders a target prosody into a matching spectral envelope.

``model`` (generator, discriminator), ``losses``, ``data`` (unlabelled segments),
``trainer`` (the task of ``python -m pipeline.train emotion_envelope``), ``system``
(inference: profiles / references → WORLD → full band), ``card``.
"""
