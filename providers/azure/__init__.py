"""Azure ML provider."""
