"""Tests of the cloudgd command line."""
