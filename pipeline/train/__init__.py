"""The shared training loop, its CLI and the recipe runner (used by every trained family).

* :mod:`pipeline.train.task` — ``TrainConfig``, the ``TrainTask`` protocol, ``Export``;
* :mod:`pipeline.train.loop` — ``Trainer`` (exact resume, DDP, device, AMP, LR schedulers,
  best/last exports) and ``run_training``; it re-exports the names of the modules below;
* :mod:`pipeline.train.distributed` — rank / world size, device, process group, seeding;
* :mod:`pipeline.train.state` — run-directory files, time budget, stop request, ``init_from``;
* :mod:`pipeline.train.cli` — ``python -m pipeline.train TASK --config FILE [--resume]
  [--device auto|cpu|cuda] [--amp] [--set key=value]``, with the task → class map ``TRAINERS``;
* :mod:`pipeline.train.recipe` — ``python -m pipeline.train recipe recipes/X.yaml``: a
  multi-stage run, resumed stage by stage.
"""
