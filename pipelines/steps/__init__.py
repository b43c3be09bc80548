"""Plain functions behind each pipeline component; unit-testable without KFP."""
