"""MOS listening tests: definitions, stimuli building, listener sessions, ratings, statistics.

Modules (no gradio here; the tabs live in ``ui/listening_test.py`` (with
``ui/listening_layout.py`` and ``ui/listening_parts.py``) and ``ui/results.py``):

* :mod:`~pipeline.mos.definition` — question types/scales and the ``definition.yaml`` schema;
* :mod:`~pipeline.mos.builder` — runs registry systems, levels/resamples/anonymises stimuli;
* :mod:`~pipeline.mos.assignment` — sessions on disk and balanced stimulus assignment;
* :mod:`~pipeline.mos.listening` — one test's clips, sessions and submit (play-to-end timing,
  sign correction, link keys);
* :mod:`~pipeline.mos.session_flow` — the listener state machine the tab renders (consent →
  headphone check → practice → rating → done), with :mod:`~pipeline.mos.forms` (one answer
  form per question kind), :mod:`~pipeline.mos.pages` (live pages, play state per page) and
  :mod:`~pipeline.mos.clips` (immutable content-hashed clip files), and
  :mod:`~pipeline.mos.limits` (new sessions per client and minute);
* :mod:`~pipeline.mos.storage` — ``RatingStore``, the one append-only, crash-safe write path
  (its line format: :mod:`~pipeline.mos.rating_format`);
* :mod:`~pipeline.mos.backends` — CSV files (default) or PostgreSQL (:mod:`~pipeline.mos.pg_store`,
  :mod:`~pipeline.mos.pg_sessions`; :mod:`~pipeline.mos.pg_local` starts a throwaway server);
* :mod:`~pipeline.mos.stats` / :mod:`~pipeline.mos.report` — MOS, screening, significance;
* :mod:`~pipeline.mos.strings` — every listener-facing string (translations);
* :mod:`~pipeline.mos.synthetic` — a tiny tone-based test for tests, demos and benchmarks;
* emotion tests (``emotion-id``, ``annotate``, ``emotion-sim``; ``docs/ANNOTATION.md``):
  :mod:`~pipeline.mos.emotion_builder` (conversion and annotation tests),
  :mod:`~pipeline.mos.emotion_answers` (the answer form and its storage row),
  :mod:`~pipeline.mos.labels` (Dawid–Skene label table), :mod:`~pipeline.mos.emotion_report`
  (identification rates, confusion, intensity, similarity MOS, agreement),
  :mod:`~pipeline.mos.simulate` (simulated listeners), :mod:`~pipeline.mos.emotion_cli`.

CLI: ``python -m pipeline.mos build|report|export|links|build-emotion|annotate|labels|emotion-report``.
Crowd deployment: ``docs/CROWD.md``; replicas and databases: ``docs/DEPLOY.md``.
"""
