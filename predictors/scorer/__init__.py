"""predictors/scorer."""
