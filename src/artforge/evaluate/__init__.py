"""Evaluating generated art: distribution metrics (more to come: memorisation, critic, report)."""

from artforge.evaluate.metrics import METRICS, fid, kid, precision_recall

__all__ = ["METRICS", "fid", "kid", "precision_recall"]
