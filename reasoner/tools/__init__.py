"""reasoner/tools."""
