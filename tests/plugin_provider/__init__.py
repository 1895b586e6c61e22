"""A plug-in provider, ``toy``, as a third party would ship one: its own package, its own
options model, registered through the ``cloudgd.providers`` entry point.

``site/`` holds the distribution's metadata (what ``pip install`` would write); putting
that folder on ``sys.path`` is all it takes for cloudgd to find the provider. The
walk-through in docs/providers/writing-a-provider.md uses this package as its example.
"""
