"""Logging handlers."""
