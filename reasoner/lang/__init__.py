"""reasoner/lang."""
