"""Data: canonical schema, file readers, public layouts, validation, splits, the demo shop."""
