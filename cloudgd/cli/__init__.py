"""The ``cloudgd`` command line: one module per command, loaded lazily by ``main.py``."""
