"""Offline evaluation: replay a stream through the learner with a simulated analyst, and report."""
