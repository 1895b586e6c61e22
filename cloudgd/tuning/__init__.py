"""Hyperparameter tuning: the ``tuning:`` block, its checks, and search-space helpers.

Importing this package imports nothing heavy; the spec model lives in
``cloudgd.tuning.spec`` (imported by ``cloudgd.spec``), the checks against the
job in ``cloudgd.tuning.validate``.
"""
