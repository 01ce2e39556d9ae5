"""Metrics: functions of samples (and feature extractors); they never import training code."""
