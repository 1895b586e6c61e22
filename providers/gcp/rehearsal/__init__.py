"""The offline rehearsal backend of this cloud (not imported by the real adapters)."""
