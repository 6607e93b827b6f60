"""Grading a learner's file against a kata's hidden suite."""
