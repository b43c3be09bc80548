"""Small pieces both predictors share: how a typed error becomes an HTTP response."""
