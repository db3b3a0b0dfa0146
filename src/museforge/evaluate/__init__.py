"""How good is a model? Generated music against real music on the same windows, metric by metric, plus a
real-vs-generated classifier that sees what no single metric shows.

- :mod:`~museforge.evaluate.run`: :func:`evaluate_model` generates accompaniment for held-out melodies (the
  ``valid`` or ``test`` split of the model's genre) and compares every metric of
  :func:`museforge.metrics.music_metrics`, the tonal distances and (Bach) the voice leading with the real music of
  the very same windows, with seed diversity and the classifier; :func:`evaluate_samples` does the same on the
  built-in melodies, composed as ``museforge compose`` does; :func:`evaluate_data` gives a built dataset's own
  metrics, the reference row.
- :mod:`~museforge.evaluate.classifier`: per-window features and the two-sample test (pure NumPy).
- :mod:`~museforge.evaluate.bar`: :func:`shipping_bar`, every metric within 15 % of the real value, the
  instrument ranges and the classifier (the bar a pretrained model must pass to ship).
- :mod:`~museforge.evaluate.compare`: generated against real, value by value; :mod:`~museforge.evaluate.text`:
  what ``museforge evaluate`` prints; :mod:`~museforge.evaluate.picture`: the PNG of an evaluation.

Results are plain JSON-ready dicts: a metric that has no value (NaN in :mod:`museforge.metrics`, e.g. the in-scale
rate of a silent track) is ``None``.
"""

from museforge.evaluate.bar import (
    ABSOLUTE_FLOOR,
    MAX_CLASSIFIER_ACCURACY,
    MAX_OUT_OF_RANGE,
    RATE_FLOOR,
    RELATIVE_TOLERANCE,
    SHIPPING_DRUM_METRICS,
    SHIPPING_ENSEMBLE_METRICS,
    SHIPPING_METRICS,
    format_shipping_bar,
    shipping_bar,
)
from museforge.evaluate.classifier import two_sample_accuracy, window_features
from museforge.evaluate.compare import GAP_FLOOR, voice_leading
from museforge.evaluate.picture import save_evaluation_png
from museforge.evaluate.run import (
    DATA_MAX_WINDOWS,
    HELD_OUT_SPLITS,
    MAX_SAMPLES,
    SAMPLE_SEEDS,
    THRESHOLD,
    evaluate_data,
    evaluate_model,
    evaluate_samples,
)
from museforge.evaluate.text import format_evaluation

__all__ = [
    "ABSOLUTE_FLOOR",
    "DATA_MAX_WINDOWS",
    "GAP_FLOOR",
    "HELD_OUT_SPLITS",
    "MAX_CLASSIFIER_ACCURACY",
    "MAX_OUT_OF_RANGE",
    "MAX_SAMPLES",
    "RATE_FLOOR",
    "RELATIVE_TOLERANCE",
    "SAMPLE_SEEDS",
    "SHIPPING_DRUM_METRICS",
    "SHIPPING_ENSEMBLE_METRICS",
    "SHIPPING_METRICS",
    "THRESHOLD",
    "evaluate_data",
    "evaluate_model",
    "evaluate_samples",
    "format_evaluation",
    "format_shipping_bar",
    "save_evaluation_png",
    "shipping_bar",
    "two_sample_accuracy",
    "voice_leading",
    "window_features",
]
