"""redis-session-inspector: what is in a user's session on Redis, and which container served it."""

__version__ = "0.1.0"
