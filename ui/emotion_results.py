"""Results of emotion tests in the admin "Results" tab (the library computes, this renders).

:func:`emotion_results` is called by ``ui/results.py`` when a test's ratings hold emotion
answers (``emotion-id`` / ``annotate``) or emotion-similarity ratings: identification rates
with Wilson intervals and chance, the confusion-matrix plot, intensity by requested
intensity, similarity MOS with paired tests, agreement and gold screening.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

from pipeline.mos.storage import read_ratings


def holds_emotion_answers(csv: Path) -> bool:
    """True when ``csv`` holds answers of an emotion test."""
    from pipeline.mos.emotion_report import is_emotion_frame  # statistics stack: on use

    return is_emotion_frame(read_ratings(csv))


def emotion_results(
    csv: Path, test_id: str, out: Path
) -> tuple[str, object, pd.DataFrame, pd.DataFrame, list[str]]:
    """(markdown, confusion figure, listener screening, rates table, downloadable files);
    the files are written into ``out``."""
    from pipeline.mos.emotion_report import confusion_figure, write_emotion_report

    report = write_emotion_report(csv, out)
    fig = confusion_figure(report.answers, title=f"{test_id}: perceived vs intended emotion")
    plt.close(fig)
    files = [str(path) for path in report.files.values()]
    return report.markdown(), fig, report.listeners, report.rates, files
