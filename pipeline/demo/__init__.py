"""Demo material: example clips, one input through every system (compare), static samples pages.

* :mod:`pipeline.demo.examples` — the committed example clips under ``examples/``;
* :mod:`pipeline.demo.compare` — run one input through all systems of a task, with figures;
* :mod:`pipeline.demo.site` — write a self-contained "audio samples" page from comparisons;
* ``python -m pipeline.demo export`` — the command line of the above.
"""
