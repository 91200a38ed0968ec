"""Pepy Hat: centralized authorization for internal apps (the service)."""

__version__ = "0.1.0"
