"""cloudgd's backends: one sub-package per cloud plus the local runner.

Each sub-package has options.py (Pydantic, SDK-free), render.py (pure plan),
client.py (the only module that imports the SDK, lazily), states.py and
provider.py.
"""
