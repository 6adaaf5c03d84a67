"""Pure session logic: models, Spring Session layout rules and value decoders.

Bytes in, typed results out. This package must never import textual, redis or
aiohttp (tests/test_import_hygiene.py enforces it), so it stays fast to import,
easy to test and usable from any front end.
"""
