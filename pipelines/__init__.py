"""Pipeline assembly, destinations, the ``chatsync`` CLI and the analytics SQL."""
