"""Helionyx's adapters and composition root."""

__version__ = "0.2.0"
