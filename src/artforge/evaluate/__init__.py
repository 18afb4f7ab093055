"""Evaluating generated art.

* :mod:`~artforge.evaluate.metrics` — FID, KID, precision/recall on feature vectors;
* :mod:`~artforge.evaluate.features` — those feature vectors, from a shared backbone, cached by content;
* :mod:`~artforge.evaluate.compare` — generated vs real pictures: every metric plus a memorisation check,
  labelled with the feature space; :func:`selection_metric` says when FID is too biased to choose by;
* :mod:`~artforge.evaluate.critic`, :mod:`~artforge.evaluate.curate` — a critic that scores pictures 0–10
  and learns from ratings; :mod:`~artforge.evaluate.measures` — interpretable picture measures;
* :mod:`~artforge.evaluate.report` — one HTML page about a training run.
"""

from artforge.evaluate.compare import measure_against_real, selection_metric
from artforge.evaluate.metrics import METRICS, fid, kid, precision_recall

__all__ = ["METRICS", "fid", "kid", "measure_against_real", "precision_recall", "selection_metric"]
