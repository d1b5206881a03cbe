"""Head office's reference loyalty API: the service (service.py) over a store (store.py, SQLite
or PostgreSQL), the ASGI app (app.py) with its OpenAPI document, and a runner (serve.py).
The till never imports this package: it needs the server's libraries."""
