"""Emotion & Enhancement Studio: the speech library behind the web app (no gradio here).

Public entry points live in :mod:`pipeline.api`: ``load``, ``enhance``, ``convert``.
"""

__version__ = "0.1.0"
