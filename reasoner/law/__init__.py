"""reasoner/law."""
