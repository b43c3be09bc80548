"""Default thresholds of the training gates, in one place for the pipeline's settings, parameters and checks.

Owned here so the CLI's defaults, the compiled pipeline's parameter defaults and the fairness check cannot
drift apart. A new version is proposed (alias ``challenger``, a ModelRollout) only if it passes both: fairness (every
measurable user slice good enough, slices close to each other) and the champion gate (not worse than the
champion by more than the tolerance). The rollout gates that follow are the ModelRollout spec's defaults in
:mod:`contracts.crds`.
"""

from __future__ import annotations

from typing import Final

CHAMPION_AUC_TOLERANCE: Final = 0.005
"""AUC a challenger may lose against the champion and still be proposed."""
MAX_SLICE_AUC_GAP: Final = 0.15
"""Fairness: the largest AUC gap between two slices of one dimension."""
MIN_SLICE_AUC: Final = 0.55
"""Fairness: every gated slice's AUC at least this."""
MIN_SLICE_SIZE: Final = 200
"""Slices with fewer test rows are reported, not gated (too few to tell a gap from noise)."""
