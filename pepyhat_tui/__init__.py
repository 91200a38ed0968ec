"""pepyhat-tui: the Pepy Hat operator dashboard (Textual)."""
