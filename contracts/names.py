"""Names other systems rely on (DESIGN.md, "Names that are fixed"): each is spelled here once and imported.

The recommender calls the InferenceServices by these names, MLflow keeps the scorer's versions under
``SCORER_MODEL`` with the two aliases, and the operator's rollouts move those aliases.
"""

from __future__ import annotations

from typing import Final

SCORER_MODEL: Final = "tip-scorer"
"""InferenceService, KServe model name and MLflow registered model of the scorer."""
GENERATOR_MODEL: Final = "tip-generator"
"""InferenceService and KServe model name of the generator."""
CHAMPION_ALIAS: Final = "champion"
CHALLENGER_ALIAS: Final = "challenger"
