"""What operators watch: Prometheus metrics of the running hotline (:mod:`ivr.observability.metrics`)."""

from ivr.observability.metrics import Metrics, metrics_allowed

__all__ = ["Metrics", "metrics_allowed"]
