"""Every listener-facing string of the listening test, in one place, per language.

Translate a test by adding a language block to :data:`STRINGS` (same keys) and setting
``language:`` in the test definition. Missing keys fall back to English.
Scale labels follow ITU-T P.800 (ACR, DCR, CCR).
"""

from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    "en": {
        "no_tests": (
            "There is no listening test here yet. To make one, open **Results**, unlock "
            "it with the admin password (`--admin-password` at launch) and use "
            "*Build a new test*, or run `python -m pipeline.mos build --help`."
        ),
        "pick_test": "Choose a listening test",
        "pick_button": "Open test",
        "unknown_test": "This link names a test that does not exist: {test_id}",
        "welcome": "## {title}",
        "default_instructions": (
            "You will hear short speech recordings and rate each one. Use headphones in a quiet "
            "room and keep the volume at a comfortable level throughout. Each clip must be "
            "played to the end before you can answer."
        ),
        "consent": (
            "I agree to take part. My answers and an anonymous or platform-provided ID are "
            "stored for research; no audio of me is recorded."
        ),
        "start": "Start",
        "need_consent": "Please tick the consent box to continue.",
        "listener_line": "Your participant ID: `{listener_id}`",
        "headphone_title": "### Volume and headphone check",
        "headphone_prompt": (
            "Play the clip. It contains a few quiet beeps. How many beeps do you hear? "
            "Adjust the volume so you hear them clearly, then keep it there."
        ),
        "headphone_submit": "Check",
        "clip_headphone": "Beep clip",
        "headphone_wrong": "Not quite. Check your volume and headphones and try again.",
        "headphone_failed": (
            "Thank you. Unfortunately the audio check did not succeed, so you cannot take part "
            "in this test. Please return the study."
        ),
        "training_title": "### Practice {n} of {total}",
        "training_note": "Practice clips are not scored. They show what the scale means.",
        "training_feedback": "Expected answer for this example: **{label}**.",
        "continue": "Continue",
        "training_submit": "Check my answer",
        "practice_first": "Answer the practice clip first.",
        "rating_title": "### Clip {n} of {total}",
        "play_first": "Play every clip to the end before answering.",
        "choose_first": "Choose an answer first.",
        "answer_all_first": "Answer every question on this page first.",
        "submit": "Submit rating",
        "saved": "Saved.",
        "already_rated": "You already rated this clip; your first answer is kept.",
        "finished": "The test is finished; nothing more was saved.",
        "too_many_sessions": (
            "Too many new sessions were started from your connection. Please wait a minute "
            "and press Start again."
        ),
        "bad_key": (
            "This link is not complete. Please open the test with the exact link the study "
            "gave you."
        ),
        "clip_a": "Sample A",
        "clip_b": "Sample B",
        "clip_reference": "Reference",
        "clip_test": "Sample to rate",
        "clip_single": "Speech sample",
        "done_title": "## Thank you!",
        "done_code": "Your completion code is:\n\n# `{code}`\n\nCopy it back into the study platform.",
        "done_no_code": "You have finished the test. You may close this page.",
        "error": "Something went wrong: {error}",
        "page_expired": (
            "This page is out of date (the server restarted). Reload the page to continue "
            "where you left off; your saved answers are kept."
        ),
        "not_sent": "Your answer could not be sent. Check your connection and press the button again.",
        "trap_prompt": "**Attention check:** for this clip, please answer **{label}**.",
        # prompts per question type
        "prompt_acr": "How would you rate the **{attribute}** of the speech you heard?",
        "prompt_dcr": (
            "Listen to the reference, then the sample. How would you describe the degradation "
            "of the sample compared with the reference?"
        ),
        "prompt_ccr": "Compared with Sample A, the **{attribute}** of Sample B is:",
        "prompt_smos": (
            "How similar is the **emotion** expressed in the sample to the emotion in the "
            "reference? (Ignore the words and the audio quality.)"
        ),
        "prompt_ab": "Which sample has better **{attribute}**?",
        # scale labels (P.800)
        "acr_5": "5 Excellent",
        "acr_4": "4 Good",
        "acr_3": "3 Fair",
        "acr_2": "2 Poor",
        "acr_1": "1 Bad",
        "dcr_5": "5 Degradation is inaudible",
        "dcr_4": "4 Degradation is audible but not annoying",
        "dcr_3": "3 Degradation is slightly annoying",
        "dcr_2": "2 Degradation is annoying",
        "dcr_1": "1 Degradation is very annoying",
        "ccr_3": "Much better",
        "ccr_2": "Better",
        "ccr_1": "Slightly better",
        "ccr_0": "About the same",
        "ccr_-1": "Slightly worse",
        "ccr_-2": "Worse",
        "ccr_-3": "Much worse",
        "smos_5": "5 Exactly the same emotion",
        "smos_4": "4 Very similar",
        "smos_3": "3 Somewhat similar",
        "smos_2": "2 Slightly similar",
        "smos_1": "1 Completely different",
        "ab_1": "Sample B",
        "ab_0": "No preference",
        "ab_-1": "Sample A",
        # emotion tests (emotion-id, annotate, emotion-sim)
        "prompt_emotion-id": (
            "Which **emotion** does the speaker express? Ignore the words and the audio "
            "quality; choose *Other / can't tell* when none fits."
        ),
        "prompt_annotate": (
            "Which **emotion** does the speaker express? Ignore the words and the audio "
            "quality; choose *Other / can't tell* when none fits."
        ),
        "prompt_emotion-sim": (
            "How similar is the **emotion** expressed in the sample to the emotion in the "
            "reference? (Ignore the words and the audio quality.)"
        ),
        "emotion_neutral": "Neutral",
        "emotion_happy": "Happy",
        "emotion_angry": "Angry",
        "emotion_sad": "Sad",
        "emotion_surprise": "Surprised",
        "emotion_other": "Other / can't tell",
        "intensity_label": "How strong is the emotion? (1 = very weak, 5 = very strong)",
        "certainty_label": "How sure are you? (1 = guessing, 5 = certain)",
        "emotion-sim_5": "5 Exactly the same emotion",
        "emotion-sim_4": "4 Very similar",
        "emotion-sim_3": "3 Somewhat similar",
        "emotion-sim_2": "2 Slightly similar",
        "emotion-sim_1": "1 Completely different",
    }
}


def text(key: str, lang: str = "en", **fields: object) -> str:
    """The string ``key`` in ``lang`` (English fallback), formatted with ``fields``."""
    table = STRINGS.get(lang, {})
    template = table.get(key, STRINGS["en"][key])
    return template.format(**fields) if fields else template


def scale_label(question: str, score: int, lang: str = "en", custom: dict | None = None) -> str:
    """Label of ``score`` on the ``question`` scale (a definition's custom labels win)."""
    if custom and score in custom:
        return custom[score]
    return text(f"{question}_{score}", lang)


def counted(n: int, noun: str) -> str:
    """``n`` and an English count noun: ``"1 listener"``, ``"3 listeners"``."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
