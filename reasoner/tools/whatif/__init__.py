"""reasoner/tools/whatif."""
