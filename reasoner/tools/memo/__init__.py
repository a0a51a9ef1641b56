"""reasoner/tools/memo."""
