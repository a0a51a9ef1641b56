"""The interview: which unstated facts could change a decision, asked one at a time (``earlog interview``)."""
