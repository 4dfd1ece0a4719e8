"""The one shared training loop and its CLI (every trained model family uses them).

* :mod:`pipeline.train.loop` — ``Trainer`` (exact resume, DDP, device,
  AMP, LR schedulers, best/last exports) and ``run_training``;
* :mod:`pipeline.train.cli` — ``python -m pipeline.train TASK --config FILE [--resume]
  [--device auto|cpu|cuda] [--amp] [--set key=value]``, with the task → class map ``TRAINERS``.
"""
