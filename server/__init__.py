"""Plenary: a real-time platform for large-group 'whole system' events."""

__version__ = "0.1.0"
