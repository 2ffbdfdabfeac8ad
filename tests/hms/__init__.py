"""Tests of the HMS science models."""
