"""Local provider: runs the trainer here, emulating each cloud's container contract."""
