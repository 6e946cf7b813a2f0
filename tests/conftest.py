"""Shared fixtures of the unit tests."""
