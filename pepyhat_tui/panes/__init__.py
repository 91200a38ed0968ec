"""Panes: one resource list each (filter, paged table, its actions), used by screens and tabs."""
