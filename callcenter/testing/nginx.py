"""An nginx configuration in front of one or several callcenter servers, as docs/deploy.md
recommends (websocket upgrade, long reads, the client's address and the path prefix; several
servers balanced, a refused connection passed to the next), for running Debian's nginx beside a
deployment under test: ``nginx -p FOLDER -c FOLDER/nginx.conf``."""

from __future__ import annotations

import os
from pathlib import Path

CONFIG = """
worker_processes 1;
daemon off;
{user}
pid {folder}/nginx.pid;
error_log {folder}/error.log warn;
events {{ worker_connections {connections}; }}
http {{
    access_log off;
    client_body_temp_path {folder}/body;
    proxy_temp_path {folder}/proxy;
    fastcgi_temp_path {folder}/fastcgi;
    uwsgi_temp_path {folder}/uwsgi;
    scgi_temp_path {folder}/scgi;
    map $http_upgrade $connection_upgrade {{ default upgrade; '' close; }}
{upstreams}
    server {{
        listen 127.0.0.1:{port};
        location {prefix} {{
            proxy_pass http://{upstream}/;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header X-Forwarded-Proto $scheme;
            proxy_set_header X-Forwarded-Prefix {bare_prefix};
            proxy_read_timeout 1h;
            proxy_connect_timeout 2s;
        }}
    }}
}}
"""

UPSTREAMS = """
    upstream callcenter {{
{servers}    }}
"""


def nginx_config(folder: Path, port: int, upstream: int | list[int], prefix: str = "/",
                 connections: int = 512) -> str:
    """nginx.conf for listening on 127.0.0.1:``port`` and proxying ``prefix`` to the server on
    port ``upstream``, or balancing between the servers of a list of ports (``max_fails=0``: a
    server that refused a connection is not left out for a while, so one started again takes
    connections at once). Its pid, log and temporary files go in ``folder``."""
    upstreams = ""
    if isinstance(upstream, list):
        upstreams = UPSTREAMS.format(servers="".join(
            f"        server 127.0.0.1:{p} max_fails=0;\n" for p in upstream))
    # As root (CI), the workers would run as nobody, who cannot enter a test's folders.
    return CONFIG.format(user="user root;" if os.getuid() == 0 else "", folder=folder,
                         connections=connections, upstreams=upstreams, port=port, prefix=prefix,
                         upstream="callcenter" if upstreams else f"127.0.0.1:{upstream}",
                         bare_prefix=prefix.rstrip("/") or '""')
