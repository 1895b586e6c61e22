"""The shared PyTorch gradient-descent trainer that runs inside every cloudgd job.

It imports torch (lazily, in the modules that need it) and never imports
``cloudgd`` or ``providers``: it must run alone inside a training container.
"""

__version__ = "0.1.0"
