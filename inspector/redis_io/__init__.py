"""The only code that talks to Redis.

Settings become clients here (standalone or cluster), and every failure a
server or network can produce is turned into one clear line
(:mod:`inspector.redis_io.errors`). Modules that do not need redis-py
(:mod:`~inspector.redis_io.settings`, :mod:`~inspector.redis_io.redis_cli`)
do not import it, so the CLI starts fast and the TUI can reuse them freely.
"""
