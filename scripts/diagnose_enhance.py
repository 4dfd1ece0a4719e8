"""Where does an enhancement system lose quality? Prints numbers on a set of noisy/clean pairs.

    python scripts/diagnose_enhance.py data/enhance_valid_select/pairs.csv \
        --systems noisy,dsp,deepfilternet3 --checkpoints runs/enhance_mask_gan_v2/best.pt

For every system (registry names, and generator checkpoints given by path): PESQ-WB, STOI, the
pause noise (``pipeline.metrics.pause_attenuation_db``) and the median level of the
output relative to the clean reference in speech-active STFT bins, split by the bin's local
SNR (> 5 dB: speech dominates; -5..5 dB; < -5 dB: noise dominates). Two ceilings come first:
the oracle ideal ratio mask on the noisy magnitude with the noisy phase (what any mask
estimator with this STFT could reach) and the same mask limited to -20 dB. Use a validation
set for decisions; the test set only to report.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.checkpoint import load_model  # noqa: E402
from pipeline.constants import SAMPLE_RATE  # noqa: E402
from pipeline.enhance.data import read_pairs  # noqa: E402
from pipeline.metrics import pause_attenuation_db, pesq_wb, stoi  # noqa: E402
from pipeline.registry import Registry  # noqa: E402

N_FFT, HOP = 512, 128
ACTIVE_BELOW_PEAK_DB = 50.0


def _stft(wave: np.ndarray, window: torch.Tensor) -> torch.Tensor:
    x = torch.from_numpy(np.ascontiguousarray(wave, dtype=np.float32))
    return torch.stft(x, N_FFT, HOP, window=window, center=True, return_complex=True)


def oracle_mask(floor: float) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """Ideal ratio mask (clean / noisy magnitude, at most 1.2, at least ``floor``)."""
    window = torch.hann_window(N_FFT).sqrt()

    def run(noisy: np.ndarray, clean: np.ndarray) -> np.ndarray:
        spec, ref = _stft(noisy, window), _stft(clean, window)
        mask = (ref.abs() / (spec.abs() + 1e-8)).clamp(min=floor, max=1.2)
        out = torch.istft(spec * mask, N_FFT, HOP, window=window, length=len(noisy))
        return out.numpy()

    return run


def level_bias(clean: np.ndarray, noisy: np.ndarray, out: np.ndarray) -> list[np.ndarray]:
    """Output-minus-clean level (dB) of speech-active bins in three local-SNR classes."""
    window = torch.hann_window(N_FFT)
    ref = _stft(clean, window).abs().numpy()
    noise = _stft(noisy - clean, window).abs().numpy()
    est = _stft(out, window).abs().numpy()
    ref_db = 20 * np.log10(ref + 1e-6)
    active = ref_db > ref_db.max() - ACTIVE_BELOW_PEAK_DB
    local = ref_db - 20 * np.log10(noise + 1e-6)
    diff = 20 * np.log10(est + 1e-6) - ref_db
    classes = (local > 5, (local > -5) & (local <= 5), local <= -5)
    return [diff[c & active] for c in classes]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("pairs", type=Path, help="a pairs.csv (python -m pipeline.corpora testset)")
    parser.add_argument("--systems", default="noisy,dsp")
    parser.add_argument("--checkpoints", nargs="*", default=[], help="generator .pt files")
    parser.add_argument("--items", type=int, default=40)
    parser.add_argument("--max-snr", type=float, default=10.0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    pairs = read_pairs(args.pairs, limit=args.items, max_snr=args.max_snr)
    registry = Registry()
    runs: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]] = {
        "oracle IRM (noisy phase)": oracle_mask(0.0),
        "oracle IRM, -20 dB floor": oracle_mask(0.1),
    }
    for name in (s for s in args.systems.split(",") if s):
        if name == "noisy":
            runs[name] = lambda noisy, clean: noisy
        else:
            system = registry.get("enhance", name)
            runs[name] = lambda noisy, clean, system=system: system.enhance(noisy, SAMPLE_RATE)
    for path in args.checkpoints:
        model = load_model(path)[0].eval()

        def run(noisy, clean, model=model):
            with torch.inference_mode():
                return model(torch.from_numpy(noisy)[None])[0].numpy()

        runs[path] = run
    print(f"{len(pairs)} pairs of {args.pairs} (input SNR <= {args.max_snr:g} dB)")
    head = "system | PESQ-WB | STOI | pause noise dB | level dB, local SNR > 5 | -5..5 | < -5"
    print(head)
    for name, run in runs.items():
        scores, bias = [], [[], [], []]
        for clean, noisy in pairs:
            out = run(noisy, clean)
            scores.append(
                (
                    pesq_wb(clean, out, SAMPLE_RATE),
                    stoi(clean, out, SAMPLE_RATE),
                    pause_attenuation_db(clean, noisy, out, SAMPLE_RATE),
                )
            )
            for k, values in enumerate(level_bias(clean, noisy, out)):
                bias[k].append(values)
        p, s, pause = np.nanmean(np.array(scores), axis=0)
        levels = " | ".join(f"{np.median(np.concatenate(b)):+.1f}" for b in bias)
        print(f"{name} | {p:.3f} | {s:.3f} | {pause:.1f} | {levels}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
