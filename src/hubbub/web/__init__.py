"""The HTTP layer: thin FastAPI routers, error mapping, static assets."""
