"""gunicorn settings of the web process (the Procfile and the Dockerfile run `gunicorn -c` this file).

Slow clients must not stall the app (issue 15): gunicorn's asyncio ASGI worker reads request headers and
bodies and writes responses without holding a thread, so a client trickling headers, uploading slowly or
reading a ZIP slowly costs a socket, not a worker. Django runs each request's synchronous code in its own
thread once the request has fully arrived (config/server.py caps the body first). No reverse proxy is
required for this; one in front (TLS, HTTP/2) is still fine.
"""

import os

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
worker_class = "asgi"
workers = int(os.environ.get("WEB_CONCURRENCY", "2"))
worker_connections = int(os.environ.get("WEB_MAX_CONNECTIONS", "1000"))  # open sockets per worker
timeout = 120  # a worker silent this long is restarted; also bounds each wait for a body chunk
graceful_timeout = 30
keepalive = 5
# Request line and header limits (gunicorn answers 400/431 beyond them); bodies: config/server.py.
limit_request_line = 8190
limit_request_fields = 100
limit_request_field_size = 8190
accesslog = "-"
# Each request runs in a fresh thread under ASGI, so a persistent connection would be one per finished
# thread: on PostgreSQL a pool per process lends connections (DB_POOL, at most DB_POOL_MAX), elsewhere one is
# opened per request. Workers, CLI and listener keep their persistent connection (DB_CONN_MAX_AGE).
os.environ.setdefault("DB_CONN_MAX_AGE", "0")
os.environ.setdefault("DB_POOL", "true")
# gunicorn's runtime control socket (for `gunicornc`) is one path per user: several servers on one machine
# (tests, benchmarks, replicas sharing a home) would take it from each other. Unused here.
control_socket_disable = True
