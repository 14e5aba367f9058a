"""The nginx configuration that puts the three services behind one address."""

import os
from pathlib import Path

from shared.runtime import ServiceSpec
from shared.settings import Settings

_COMMON_HEADERS = """\
proxy_http_version 1.1;
proxy_set_header Host $http_host;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Request-Id $request_id;
proxy_set_header Connection "";
"""


def nginx_config(specs: list[ServiceSpec], settings: Settings, prefix: Path) -> str:
    upstreams, locations = [], []
    for spec in specs:
        upstreams.append(
            f"upstream {spec.name} {{ server {settings.host}:{settings.port_of(spec.name)}; keepalive 16; }}"
        )
        for path in spec.public_paths:
            locations.append(
                f"location {path} {{ include proxy_headers.conf; proxy_pass http://{spec.name}; }}"
            )
        for probe in ("healthz", "readyz", "metrics"):
            locations.append(
                f"location = /{spec.name}/{probe} {{ include proxy_headers.conf; "
                f"proxy_pass http://{spec.name}/{probe}; }}"
            )
    temp = "\n".join(
        f"  {kind}_temp_path {prefix}/temp/{kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    # Workers of a root master run as nobody unless told otherwise, and then cannot use the temp dirs.
    user = "user root;" if os.geteuid() == 0 else ""
    nl = "\n  "
    return f"""\
{user}
worker_processes 2;
pid {prefix}/nginx.pid;
error_log {prefix}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log {prefix}/logs/access.log;
{temp}
  client_max_body_size 20m;
  server_tokens off;
  {nl.join(upstreams)}
  server {{
    listen {settings.host}:{settings.proxy_port};
    location = /favicon.ico {{ return 204; }}
    location / {{ return 404; }}
    {(nl + "  ").join(locations)}
  }}
}}
"""


def write_nginx_config(specs: list[ServiceSpec], settings: Settings, prefix: Path) -> Path:
    for sub in ("logs", "temp/client_body", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "proxy_headers.conf").write_text(_COMMON_HEADERS)
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(specs, settings, prefix))
    return conf
