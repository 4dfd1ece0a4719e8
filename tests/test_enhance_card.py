"""The enhancement model card is built from the checkpoint, the manifest and evaluation tables."""

from __future__ import annotations

import csv

from pipeline.checkpoint import save_model
from pipeline.enhance.card import add_measured_metrics, build_card
from pipeline.enhance.model import MaskGenerator


def _write_csv(path, rows):
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)


def _tiny_generator(path, *, extra: dict, **grown):
    """Save an untrained one-layer MaskGenerator (plus ``grown`` kwargs) to ``path``."""
    kwargs = {"hidden": 16, "gru_layers": 1, **grown}
    save_model(
        path,
        MaskGenerator(**kwargs),
        arch="enhance.mask_gan",
        model_kwargs=kwargs,
        sample_rate=16_000,
        extra=extra,
    )
    return path


def test_card_from_run_and_evaluation(tmp_path):
    extra = {
        "step": 1234,
        "elapsed_s": 3600.0,
        "metrics": {"pesq_wb": 2.1, "stoi": 0.8},
        "config": {"train": {"batch_size": 8, "num_threads": 1}, "loss": {}, "data": {}},
    }
    _tiny_generator(tmp_path / "model.pt", extra=extra)
    manifest = tmp_path / "manifest.csv"
    _write_csv(
        manifest,
        [
            {
                "kind": "speech",
                "path": "speech_denoised/src-a/s1/a.wav",
                "source_package": "pkg-a",
                "licence": "GPL-2",
                "duration_s": "60",
                "split": "train",
                "speaker": "s1",
            },
            {
                "kind": "speech",
                "path": "extra/speech/studio/s3/b.wav",
                "source_package": "pkg-studio",
                "licence": "CC-BY-3.0",
                "duration_s": "6",
                "split": "train",
                "speaker": "s3",
            },
            {
                "kind": "speech",
                "source_package": "pkg-a",
                "licence": "GPL-2",
                "path": "speech/src-a/s2/c.wav",
                "duration_s": "30",
                "split": "test",
                "speaker": "s2",
            },
            {
                "kind": "noise",
                "source_package": "pkg-n",
                "licence": "GFDL-1.3",
                "path": "noise/n/d.wav",
                "duration_s": "120",
                "split": "train",
                "speaker": "",
            },
        ],
    )
    card = build_card(tmp_path / "model.pt", name="mask-gan", manifest=manifest, command="cmd")
    assert card.kind == "gan" and card.training_steps == 1234 and card.parameters > 0
    assert "pkg-a (GPL-2) 1.0 min, 1 speaker" in card.training_data
    assert "pkg-n (GFDL-1.3) 2.0 min" in card.training_data
    assert card.training_time.startswith("1.00 h") and "mixtures" in card.label_provenance
    # the training speech of pkg-a came from `python -m pipeline.corpora targets`: said so
    assert "Pseudo-clean targets" in card.label_provenance
    assert "(pkg-a) were first passed through deepfilternet3" in card.label_provenance
    assert "studio prompts (pkg-studio)" in card.label_provenance
    eval_dir = tmp_path / "eval"
    eval_dir.mkdir()
    _write_csv(
        eval_dir / "summary.csv",
        [
            {"system": "noisy", "snr": "0-10", "n": "9", "pesq_wb": "1.5", "stoi": "0.7"},
            {"system": "mask-gan", "snr": "0-10", "n": "9", "pesq_wb": "2.25", "stoi": "0.8"},
            {"system": "mask-gan", "snr": "5", "n": "3", "pesq_wb": "9.0", "stoi": "0.9"},
        ],
    )
    _write_csv(eval_dir / "resources.csv", [{"system": "mask-gan", "rtf": "0.031"}])
    add_measured_metrics(card, eval_dir, systems=("noisy", "mask-gan"))
    assert card.metrics["PESQ-WB mask-gan (test, 0-10 dB)"] == 2.25
    assert card.metrics["PESQ-WB noisy (test, 0-10 dB)"] == 1.5
    assert card.metrics["real-time factor mask-gan (1 thread)"] == 0.031
    assert card.metrics["test items per system (0, 5, 10 dB)"] == 9


def test_card_names_the_deep_filter_and_complex_loss(tmp_path):
    loss = {"magnitude": 10.0, "mrstft": 1.0, "complex": 5.0}
    extra = {"step": 10, "elapsed_s": 60.0, "config": {"train": {}, "loss": loss, "data": {}}}
    grown = _tiny_generator(tmp_path / "model.pt", extra=extra, df_bins=128, df_order=5)
    manifest = tmp_path / "manifest.csv"
    row = {"kind": "speech", "path": "speech/a/s/x.wav", "source_package": "pkg-a"}
    _write_csv(
        manifest, [{**row, "licence": "GPL-2", "duration_s": "6", "split": "train", "speaker": "s"}]
    )
    card = build_card(grown, name="df", manifest=manifest, command="cmd")
    assert "deep filter (5 frames) on the lowest 128 bins (0-4000 Hz)" in card.architecture
    assert "compressed complex MSE x5.0" in card.architecture
    plain = _tiny_generator(tmp_path / "plain.pt", extra=extra)
    plain = build_card(plain, name="plain", manifest=manifest, command="cmd")
    assert "noisy phase." in plain.architecture and "deep filter" not in plain.architecture
