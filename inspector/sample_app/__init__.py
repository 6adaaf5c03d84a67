"""The sample app: the aiohttp twin of the article's Spring Boot app.

Two instances ("containers") behind a load balancer share one session in
Redis, stored byte for byte as Spring Session stores it, so the inspector (and
a real Spring app) see exactly what they would see in production.
"""
