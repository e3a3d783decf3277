"""HTTP in and out: the aiohttp application, its routes, request schemas and auth."""
