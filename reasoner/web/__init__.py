"""reasoner/web."""
