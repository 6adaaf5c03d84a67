"""Typed application keys (aiohttp ``web.AppKey``)."""

from __future__ import annotations

from aiohttp import web

from inspector.sample_app.settings import SampleAppSettings
from inspector.sample_app.state import RedisHolder

__all__ = ["HOLDER", "SETTINGS"]

SETTINGS = web.AppKey("settings", SampleAppSettings)
HOLDER = web.AppKey("redis", RedisHolder)
