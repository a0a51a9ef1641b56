"""reasoner/proof."""
