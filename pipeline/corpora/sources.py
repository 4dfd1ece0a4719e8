"""Enumerate the speech and noise clips inside extracted Debian packages.

Each ``list_*`` function takes extraction roots (see :func:`pipeline.corpora.debian.fetch`)
and returns :class:`PackageClip` records: where the raw file is, how to decode it, and the
metadata that goes into the manifest (speaker, language, transcripts, licence).
No audio is decoded here.
"""

from __future__ import annotations

import gzip
import logging
import re
from dataclasses import dataclass
from pathlib import Path

from pipeline.corpora.debian import PACKAGES
from pipeline.corpora.fillets_dialogs import fillets_character as fillets_character  # re-export
from pipeline.corpora.fillets_dialogs import fillets_root, load_fillets_dialogs

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PackageClip:
    """One raw clip to prepare.

    Attributes:
        raw: path of the packaged file (ogg/wav, or headerless G.722 when ``codec == "g722"``).
        codec: ``"sndfile"`` (anything soundfile reads) or ``"g722"`` (decoded with ffmpeg).
        kind: ``"speech"`` or ``"noise"``.
        source: short corpus name used in output paths (``fillets-cs``, ``lincity``...).
        source_package: Debian package the audio comes from.
        rel: output path below ``<data>/<kind>/<source>/`` without extension.
        speaker: speaker / character id (speech); recording group (noise).
        language: BCP-47-ish code (``cs``, ``nl``, ``en``...); empty for noise.
        licence: licence of the audio.
        dialog_id: dialog id / prompt name / phrase stem / effect name.
        text: transcript in the clip's language ("" when unknown).
        text_en: English original or English phrase ("" when unknown).
        category: ``dialogue``, ``prompt``, ``exclamation``, ``word`` (speech);
            ``effect``, ``ambience``, ``music`` (noise).
    """

    raw: Path
    codec: str
    kind: str
    source: str
    source_package: str
    rel: str
    speaker: str
    language: str
    licence: str
    dialog_id: str
    text: str = ""
    text_en: str = ""
    category: str = ""


# --------------------------------------------------------------------------- fillets


def list_fillets(voice_root: Path, scripts_root: Path, language: str) -> list[PackageClip]:
    """Speech clips of ``fillets-ng-data-<language>`` (``sound/<level>/<lang>/<id>.ogg``).

    Clips without a dialog line, or whose line has no text (sound cues), are skipped.
    """
    package = f"fillets-ng-data-{language}"
    dialogs = load_fillets_dialogs(scripts_root, language)
    english = load_fillets_dialogs(scripts_root, "en")
    clips, missing = [], 0
    for ogg in sorted((fillets_root(voice_root) / "sound").glob(f"*/{language}/*.ogg")):
        did = ogg.stem
        line = dialogs.get(did) or english.get(did)
        if line is None or not line.text_en:
            missing += 1
            continue
        level = ogg.parent.parent.name
        en = english.get(did)
        speaker = f"{language}-{line.character}"
        clips.append(
            PackageClip(
                raw=ogg,
                codec="sndfile",
                kind="speech",
                source=f"fillets-{language}",
                source_package=package,
                rel=f"{speaker}/{level}__{did}",
                speaker=speaker,
                language=language,
                licence=PACKAGES[package].licence,
                dialog_id=did,
                text=line.text if did in dialogs else "",
                text_en=en.text_en if en else line.text_en,
                category="dialogue",
            )
        )
    log.info("%s: %d clips, %d without dialog text skipped", package, len(clips), missing)
    return clips


# --------------------------------------------------------------------------- asterisk


@dataclass(frozen=True)
class AsteriskVoice:
    """One voice of the Asterisk core sounds: its G.722 package, folder and speaker id."""

    package: str
    transcripts: str
    folder: str
    speaker: str
    language: str


ASTERISK_VOICES: dict[str, AsteriskVoice] = {
    v.package: v
    for v in (
        AsteriskVoice(
            "asterisk-core-sounds-en-g722",
            "asterisk-core-sounds-en",
            "en_US_f_Allison",
            "allison",
            "en",
        ),
        AsteriskVoice(
            "asterisk-core-sounds-fr-g722",
            "asterisk-core-sounds-fr",
            "fr_CA_f_June",
            "june",
            "fr",
        ),
        AsteriskVoice(
            "asterisk-core-sounds-it-g722",
            "asterisk-core-sounds-it",
            "it_IT_m_Carlo",
            "carlo",
            "it",
        ),
        AsteriskVoice(
            "asterisk-core-sounds-ru-g722",
            "asterisk-core-sounds-ru",
            "ru_RU_f_IvrvoiceRU",
            "ivrvoice-ru",
            "ru",
        ),
    )
}
"""Voices ``prepare`` knows. The Spanish set (``es_MX_f_Allison``) is left out on purpose:
it is read by Allison Smith, the English test speaker."""


def load_asterisk_transcripts(root: Path, package: str = "asterisk-core-sounds-en") -> dict:
    """``prompt name -> transcript`` from ``core-sounds-<lang>.txt.gz`` (``name: text`` lines)."""
    lang = package.rsplit("-", 1)[-1]
    path = root / "usr" / "share" / "doc" / package / f"core-sounds-{lang}.txt.gz"
    table = {}
    with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            if line.startswith(";") or ":" not in line:
                continue
            name, text = line.split(":", 1)
            table[name.strip()] = text.strip()
    return table


def list_asterisk(
    g722_root: Path,
    transcripts_root: Path | None,
    *,
    package: str = "asterisk-core-sounds-en-g722",
    english_root: Path | None = None,
) -> list[PackageClip]:
    """One voice's G.722 prompts (default: Allison, US English). Tones (transcripts in
    ``[brackets]``) and ``silence/`` are skipped. ``english_root`` (the extracted
    ``asterisk-core-sounds-en``) supplies ``text_en`` for the other languages."""
    voice = ASTERISK_VOICES[package]
    texts = (
        load_asterisk_transcripts(transcripts_root, voice.transcripts) if transcripts_root else {}
    )
    english = texts if voice.language == "en" else {}
    if english_root is not None and voice.language != "en":
        english = load_asterisk_transcripts(english_root)
    base = g722_root / "usr" / "share" / "asterisk" / "sounds" / voice.folder
    clips, skipped = [], 0
    for f in sorted(base.rglob("*.g722")):
        name = f.relative_to(base).with_suffix("").as_posix()
        text = texts.get(name, "")
        if (
            name.startswith("silence/")
            or text.startswith("[")
            or english.get(name, "").startswith("[")
        ):
            skipped += 1
            continue
        clips.append(
            PackageClip(
                raw=f,
                codec="g722",
                kind="speech",
                source="asterisk",
                source_package=package,
                rel=f"{voice.speaker}/" + name.replace("/", "__"),
                speaker=voice.speaker,
                language=voice.language,
                licence=PACKAGES[package].licence,
                dialog_id=name,
                text=text,
                text_en=english.get(name, ""),
                category="prompt",
            )
        )
    log.info("%s: %d clips, %d tones/silences skipped", package, len(clips), skipped)
    return clips


# --------------------------------------------------------------------------- hedgewars

_HW_PHRASES = {
    "Byebye": "Bye bye",
    "Comeonthen": "Come on then",
    "Cutitout": "Cut it out",
    "Enemydown": "Enemy down",
    "Firepunch": "Fire punch",
    "Firstblood": "First blood",
    "Flyaway": "Fly away",
    "Gonnagetyou": "Gonna get you",
    "Illgetyou": "I'll get you",
    "Justyouwait": "Just you wait",
    "Leavemealone": "Leave me alone",
    "Ohdear": "Oh dear",
    "PoisonCough": "(poisoned cough)",
    "PoisonMoan": "(poisoned moan)",
    "Runaway": "Run away",
    "Sameteam": "Same team",
    "Solong": "So long",
    "Takecover": "Take cover",
    "Thisoneismine": "This one is mine",
    "Watchit": "Watch it",
    "Watchthis": "Watch this",
    "Whatthe": "What the",
    "Yessir": "Yes sir",
    "Youllregretthat": "You'll regret that",
    "Ooff": "(oof)",
    "Ow": "(ow)",
    "Jump": "(jump grunt)",
    "Laugh": "(laugh)",
    "Hmm": "Hmm",
}
# Effects in Data/Sounds that are human vocalisations: not used as noise.
_HW_VOCAL_EFFECTS = {"Hellish", "Kiss", "Yoohoo", "hogchant3", "Whistle"}


def hedgewars_phrase(stem: str) -> tuple[str, str]:
    """``(phrase id, English phrase)`` of a voice file stem: ``Illgetyou`` -> I'll get you."""
    base = re.sub(r"\d+$", "", stem)
    return base, _HW_PHRASES.get(base, base.replace("-", " "))


def hedgewars_language(pack: str) -> str:
    """Voice-pack language: ``Default_es`` -> ``es``; packs without a suffix are English."""
    return pack.rsplit("_", 1)[1] if "_" in pack else "en"


def _hw_sounds(root: Path) -> Path:
    return root / "usr" / "share" / "games" / "hedgewars" / "Data"


def list_hedgewars_voices(root: Path) -> list[PackageClip]:
    """Acted exclamations: ``Data/Sounds/voices/<pack>/<Phrase>[n].ogg``; speaker = pack."""
    package = "hedgewars-data"
    clips = []
    for ogg in sorted((_hw_sounds(root) / "Sounds" / "voices").glob("*/*.ogg")):
        pack = ogg.parent.name
        phrase_id, phrase = hedgewars_phrase(ogg.stem)
        lang = hedgewars_language(pack)
        clips.append(
            PackageClip(
                raw=ogg,
                codec="sndfile",
                kind="speech",
                source="hedgewars",
                source_package=package,
                rel=f"{pack}/{ogg.stem}",
                speaker=pack,
                language=lang,
                licence="GFDL-1.3",
                dialog_id=phrase_id,
                text=phrase if lang == "en" else "",
                text_en=phrase,
                category="exclamation",
            )
        )
    return clips


def list_hedgewars_noise(root: Path, *, music: bool = True) -> list[PackageClip]:
    """Game effects (``Data/Sounds/*.ogg``, vocal ones excluded) and music (``Data/Music``)."""
    package = "hedgewars-data"
    clips = []
    for ogg in sorted((_hw_sounds(root) / "Sounds").glob("*.ogg")):
        if ogg.stem in _HW_VOCAL_EFFECTS or ogg.stem.startswith("hell_"):
            continue
        licence = "CC-BY-SA-3.0" if ogg.stem.startswith("Droplet") else "GFDL-1.3"
        clips.append(_noise(ogg, "hedgewars-fx", package, licence, "effect"))
    if music:
        for ogg in sorted((_hw_sounds(root) / "Music").glob("*.ogg")):
            clips.append(_noise(ogg, "hedgewars-music", package, "GPL-2", "music"))
    return clips


# --------------------------------------------------------------------------- lincity


def list_lincity(root: Path) -> list[PackageClip]:
    """City / industry / traffic / nature effects (``sounds/*.wav``).

    Variants of one effect (``Farm1``, ``Farm2``...) share a recording group so that they
    never straddle splits.
    """
    package = "lincity-ng-data"
    base = root / "usr" / "share" / "games" / "lincity-ng" / "sounds"
    clips = []
    for wav in sorted(base.glob("*.wav")):
        clip = _noise(wav, "lincity", package, PACKAGES[package].licence, "ambience")
        clips.append(clip)
    return clips


def _noise(path: Path, source: str, package: str, licence: str, category: str) -> PackageClip:
    group = re.sub(r"(Low|High|Med|Medium)?\d*$", "", path.stem) or path.stem
    return PackageClip(
        raw=path,
        codec="sndfile",
        kind="noise",
        source=source,
        source_package=package,
        rel=path.stem,
        speaker=f"{source}/{group}",
        language="",
        licence=licence,
        dialog_id=path.stem,
        category=category,
    )


# --------------------------------------------------------------------------- KDE words


def list_ktuberling(root: Path) -> list[PackageClip]:
    """Spoken object names ``ktuberling/sounds/<lang>/<id>.ogg|wav``; speaker = language.

    The file id names the object, not the spoken word, so ``text`` stays empty.
    """
    package = "ktuberling-data"
    base = root / "usr" / "share" / "ktuberling" / "sounds"
    clips = []
    for f in sorted(p for p in base.glob("*/*") if p.suffix in (".ogg", ".wav", ".flac")):
        lang = f.parent.name
        clips.append(_word(f, "ktuberling", package, lang, f"{lang}/{f.stem}", f.stem))
    return clips


def list_klettres(root: Path) -> list[PackageClip]:
    """Spoken letters / syllables ``klettres/<lang>/{alpha,syllab}/*.ogg``; speaker = language."""
    package = "klettres-data"
    base = root / "usr" / "share" / "klettres"
    clips = []
    for f in sorted(p for p in base.glob("*/*/*") if p.suffix in (".ogg", ".wav")):
        lang = f.parent.parent.name
        rel = f"{lang}/{f.parent.name}__{f.stem}"
        clips.append(_word(f, "klettres", package, lang, rel, f.stem))
    return clips


def _word(path: Path, source: str, package: str, lang: str, rel: str, word: str) -> PackageClip:
    return PackageClip(
        raw=path,
        codec="sndfile",
        kind="speech",
        source=source,
        source_package=package,
        rel=rel,
        speaker=f"{source}-{lang}",
        language=lang,
        licence=PACKAGES[package].licence,
        dialog_id=word,  # a file id (object / letter name), not a transcript
        category="word",
    )
