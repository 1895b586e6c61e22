"""Tests of the core: spec loading, overrides, naming, bundles, handles."""
