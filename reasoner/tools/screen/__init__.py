"""reasoner/tools/screen."""
