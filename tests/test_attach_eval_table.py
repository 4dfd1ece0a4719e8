"""scripts/attach_eval_table.py copies report sections (one or several reports) into a card."""

from __future__ import annotations

import pytest

from pipeline.cards import ModelCard
from scripts.attach_eval_table import main

REPORT = """## Enhancement evaluation

Averaged over input SNR 0, 5, 10 dB ({n} items per system).

| system | PESQ-WB |
|---|---|
| `noisy` | {noisy} |
| `x` | {x} |

RTF = wall-clock / audio time.

Test set: `data/{name}` ({n} items).
"""


def _setup(tmp_path):
    card = ModelCard(name="x", task="enhance", title="X", kind="gan")
    card.write(tmp_path / "card.json")
    valid = tmp_path / "valid.md"
    valid.write_text(REPORT.format(n=12, noisy="1.57", x="2.00", name="valid"), encoding="utf-8")
    wide = tmp_path / "wide.md"
    wide.write_text(REPORT.format(n=24, noisy="1.27", x="1.72", name="wide"), encoding="utf-8")
    return tmp_path / "card.json", valid, wide


def test_two_reports_each_under_its_heading_in_order(tmp_path):
    card_path, valid, wide = _setup(tmp_path)
    argv = [str(card_path), str(valid), str(wide), "--intro", "Two runs."]
    argv += ["--section", "Averaged over", "--section", "Test set:"]
    argv += ["--heading", "#### Validation", "--heading", "#### Wide"]
    assert main(argv) == 0
    table = ModelCard.read(card_path).metrics_table
    blocks = table.split("\n\n")
    assert blocks[0] == "Two runs."
    assert blocks[1] == "#### Validation"
    assert "| `x` | 2.00 |" in blocks[3] and "Test set: `data/valid`" in blocks[4]
    assert blocks[5] == "#### Wide"
    assert "| `x` | 1.72 |" in blocks[7] and "Test set: `data/wide`" in blocks[8]
    assert "RTF = " not in table  # a text paragraph after a table is not part of the section
    # the card's headline figures come from its first table with its own row
    assert ModelCard.read(card_path).key_figures() == [("PESQ-WB", "2.00")]


def test_one_report_as_before_and_heading_count_checked(tmp_path):
    card_path, valid, wide = _setup(tmp_path)
    assert main([str(card_path), str(valid), "--intro", "One.", "--section", "Averaged"]) == 0
    assert ModelCard.read(card_path).metrics_table.startswith("One.\n\nAveraged over")
    with pytest.raises(SystemExit):
        main([str(card_path), str(valid), str(wide), "--intro", "I", "--heading", "only one"])
    with pytest.raises(SystemExit):
        main([str(card_path), str(valid), "--intro", "I", "--section", "no such prefix"])
