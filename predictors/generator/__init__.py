"""predictors/generator."""
