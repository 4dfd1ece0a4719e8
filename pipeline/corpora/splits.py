"""Speaker-disjoint speech splits and recording-disjoint noise splits (fixed seed).

Speech (``speaker`` column):
    * Fixed hold-outs chosen so that each held-out set has both a female and a male voice:
      ``test`` = Allison (asterisk, female) and the Dutch big fish ``nl-v`` (male);
      ``valid`` = every minor Czech Fish Fillets character (statue, parrot, vikings...).
      The three other Fish Fillets main voices (``cs-m``, ``cs-v``, ``nl-m``) train.
      The opt-in Asterisk voices: ``june`` (French) and ``carlo`` (Italian) train,
      ``ivrvoice-ru`` (Russian) is validation.
    * Any other multi-speaker source (hedgewars voice packs, ktuberling/klettres languages):
      speakers are shuffled with the seed; ~15 % (at least 1) go to test, ~10 % (at least 1)
      to valid, the rest to train.
Noise (``speaker`` column holds the recording group, e.g. ``lincity/Farm`` for
``Farm1..3``): per source, groups are shuffled with the seed; ~20 % test, ~10 % valid.
Every speaker / recording group is in exactly one split.
"""

from __future__ import annotations

import random
from collections.abc import Sequence

SPLITS = ("train", "valid", "test")
FIXED_SPEECH_SPLITS = {"allison": "test", "nl-v": "test", "cs-m": "train", "cs-v": "train"}
FIXED_SPEECH_SPLITS["nl-m"] = "train"
# the opt-in Asterisk voices (pipeline.corpora.debian.CLEAN_SPEECH_PACKAGES): studio speech
FIXED_SPEECH_SPLITS.update({"june": "train", "carlo": "train", "ivrvoice-ru": "valid"})
SPEECH_FRACTIONS = {"test": 0.15, "valid": 0.10}
NOISE_FRACTIONS = {"test": 0.20, "valid": 0.10}


def _fixed_speech_split(source: str, speaker: str) -> str | None:
    if speaker in FIXED_SPEECH_SPLITS:
        return FIXED_SPEECH_SPLITS[speaker]
    if source.startswith("fillets-"):
        return "valid"  # minor characters
    return None


def _allocate(groups: Sequence[str], fractions: dict[str, float], rng: random.Random) -> dict:
    """Shuffle ``groups`` and hand out test/valid/train shares (>= 1 each when >= 3 groups)."""
    order = sorted(set(groups))
    rng.shuffle(order)
    out: dict[str, str] = {}
    n = len(order)
    n_test = max(1, round(n * fractions["test"])) if n >= 3 else 0
    n_valid = max(1, round(n * fractions["valid"])) if n >= 3 else 0
    for i, g in enumerate(order):
        out[g] = "test" if i < n_test else "valid" if i < n_test + n_valid else "train"
    return out


def assign_splits(rows: list[dict], *, seed: int = 1234) -> list[dict]:
    """Fill the ``split`` column of manifest rows in place (and return them).

    Deterministic: depends only on the set of (kind, source, speaker) values and ``seed``.
    """
    by_source: dict[tuple[str, str], list[str]] = {}
    for r in rows:
        by_source.setdefault((r["kind"], r["source"]), []).append(r["speaker"])
    table: dict[tuple[str, str, str], str] = {}
    for (kind, source), speakers in sorted(by_source.items()):
        rng = random.Random(f"{seed}/{kind}/{source}")
        if kind == "speech":
            free = []
            for spk in sorted(set(speakers)):
                fixed = _fixed_speech_split(source, spk)
                if fixed is None:
                    free.append(spk)
                else:
                    table[(kind, source, spk)] = fixed
            for spk, split in _allocate(free, SPEECH_FRACTIONS, rng).items():
                table[(kind, source, spk)] = split
        else:
            for grp, split in _allocate(speakers, NOISE_FRACTIONS, rng).items():
                table[(kind, source, grp)] = split
    for r in rows:
        r["split"] = table[(r["kind"], r["source"], r["speaker"])]
    return rows
