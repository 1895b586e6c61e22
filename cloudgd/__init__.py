"""cloudgd: one provider-agnostic job spec for gradient-descent training on any cloud.

Importing this package imports no cloud SDK and no torch; providers load lazily.
"""

__version__ = "0.1.0"
