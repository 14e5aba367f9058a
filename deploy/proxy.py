"""The nginx configuration that puts the three services behind one address."""

import json
import os
import re
from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path

from shared.auth import ACCOUNTS_SERVICE, SESSION_CHECK_PATH
from shared.http import SECURITY_HEADERS
from shared.i18n import LANGUAGES, translations
from shared.runtime import ServiceSpec
from shared.settings import Settings

_COMMON_HEADERS = """\
proxy_http_version 1.1;
proxy_set_header Host $http_host;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Request-Id $civic_request_id;
proxy_set_header Connection "";
# Who is signed in, asked of engagement for every request (see _SESSION_CHECK). Set here, these
# two headers replace whatever a client sent under their names; empty, they are not sent at all.
auth_request /_civic/session;
auth_request_set $civic_account $upstream_http_x_civic_account_id;
auth_request_set $civic_roles $upstream_http_x_civic_roles;
proxy_set_header X-Civic-Account-Id $civic_account;
proxy_set_header X-Civic-Roles $civic_roles;
"""


def _session_check(accounts: str) -> str:
    """The subrequest nginx makes before passing any request on: the session cookie to the
    service that owns accounts, which answers 200 with the account's id and roles in headers,
    or 200 without them for nobody. Internal: no client can call it. Asked every time, so a
    sign-out, a disabled account or a removed role counts on every service at once. When that
    service is down, the request goes on as nobody's: the other services' public pages still
    answer, and what needs an account is refused (closed, never open)."""
    return f"""    location = /_civic/session {{
      internal;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $http_host;
      proxy_set_header X-Forwarded-Proto $scheme;
      proxy_set_header X-Request-Id $civic_request_id;
      proxy_set_header X-Civic-Account-Id "";
      proxy_set_header X-Civic-Roles "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_intercept_errors on;
      error_page 500 502 503 504 = @civic_nobody;
      proxy_pass http://{accounts}{SESSION_CHECK_PATH};
    }}
    location @civic_nobody {{ return 200; }}"""


# The client's own request id when well-formed (the services accept the same form), else nginx's.
# Both the services and this log carry it, so a request's lines can be joined. The path is logged
# without its query string, which may hold a token (survey links), and a consent link's or a
# resident's sign-in link's token is blanked: whoever reads the logs must not be able to confirm
# someone's consent or open their page.
_REQUEST_LOG = r"""  map $http_x_request_id $civic_request_id {
    "~^[A-Za-z0-9._-]{8,64}$" $http_x_request_id;
    default $request_id;
  }
  map $request_uri $civic_path {
    "~^/confirm/" "/confirm/{token}";
    "~^/me/sign-in/" "/me/sign-in/{token}";
    "~^(?<path_only>[^?]*)" $path_only;
  }
  log_format civic escape=json '{"ts":"$time_iso8601","service":"nginx","method":"$request_method",'
    '"path":"$civic_path","status":$status,"duration_s":$request_time,"request_id":"$civic_request_id",'
    '"upstream":"$upstream_addr","bytes_sent":$body_bytes_sent}';
  # nginx's standard output is its log in the run's logs folder, beside the services'.
  access_log /dev/stdout civic;"""


# The language of nginx's own pages, chosen as the services choose: ?lang=, the lang cookie, then
# the first language the browser lists.
_LANGUAGE = r"""  map "$arg_lang|$cookie_lang|$http_accept_language" $civic_language {
    "~^es\|" es;
    "~^en\|" en;
    "~^\|es\|" es;
    "~^\|en\|" en;
    "~^\|[^|]*\|\s*es" es;
    default en;
  }
  map $uri $civic_unavailable {
    "~^/api/" @unavailable_problem;
    default @unavailable_page;
  }"""


def _own_answers(settings: Settings) -> str:
    """What nginx answers itself, in the services' forms: problem+json on the API, a page in the
    reader's language elsewhere, each with the request id and the security headers."""
    too_large = _problem(413, "Request Entity Too Large", f"the body is over {settings.max_body_bytes} bytes")
    unavailable = _problem(
        503,
        "Service Unavailable",
        "the service is not answering; try again shortly (request id $civic_request_id)",
    )
    return f"""\
    # A body over the limit is refused by nginx itself.
    error_page 413 @too_large;
    location @too_large {{
      include edge_headers.conf;
      default_type application/problem+json;
      return 413 '{too_large}';
    }}
    # A service that is down or restarting: 503 (not nginx's 502 page), so clients retry.
    error_page 502 503 504 =503 $civic_unavailable;
    location @unavailable_problem {{
      include edge_headers.conf;
      add_header Retry-After 5 always;
      default_type application/problem+json;
      return 503 '{unavailable}';
    }}
    location @unavailable_page {{
      include edge_headers.conf;
      add_header Retry-After 5 always;
      default_type "text/html; charset=utf-8";
      return 503 $civic_unavailable_page;
    }}"""


def _problem(status: int, title: str, detail: str) -> str:
    return json.dumps({"type": "about:blank", "title": title, "status": status, "detail": detail})


def _unavailable_pages() -> str:
    pages = "\n".join(f"    {language} '{_unavailable_page(language)}';" for language in LANGUAGES)
    return f"  map $civic_language $civic_unavailable_page {{\n{pages}\n  }}"


def _unavailable_page(language: str) -> str:
    _ = translations(language).gettext
    return (
        f'<!doctype html><html lang="{language}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(_('Something went wrong on our side'))}</title></head><body><main>"
        f"<h1>{escape(_('Something went wrong on our side'))}</h1>"
        f"<p>{escape(_('Nothing you did caused this. Try again in a moment.'))}</p>"
        f"<p>{escape(_('If you ask us about this, quote the request id:'))} "
        "<code>$civic_request_id</code></p>"
        "</main></body></html>"
    ).replace("'", "\\'")


def nginx_config(
    specs: list[ServiceSpec],
    settings: Settings,
    prefix: Path,
    web_ports: Mapping[str, Sequence[int]] | None = None,
) -> str:
    """``web_ports``: the ports of a service whose web role runs in several processes (its own
    port by default); nginx spreads the requests over them."""
    upstreams, locations = [], []
    for spec in specs:
        servers = " ".join(
            f"server {settings.host}:{port};"
            for port in (web_ports or {}).get(spec.name, [settings.port_of(spec.name)])
        )
        upstreams.append(f"upstream {spec.name} {{ {servers} keepalive 16; }}")
        for path in spec.public_paths:
            locations.append(
                f"location {path} {{ include proxy_headers.conf; proxy_pass http://{spec.name}; }}"
            )
        # Not /metrics: it stays on the service's own port, for Prometheus on this machine.
        for probe in ("healthz", "readyz"):
            locations.append(
                f"location = /{spec.name}/{probe} {{ include proxy_headers.conf; "
                f"proxy_pass http://{spec.name}/{probe}; }}"
            )
    home = next(spec.name for spec in specs if "= /" in spec.public_paths)
    owners = [
        f'"{path[2:]}" {spec.name};' if path.startswith("= ") else f'"~^{re.escape(path)}" {spec.name};'
        for spec in specs
        for path in spec.public_paths
    ]
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
{_REQUEST_LOG}
{_LANGUAGE}
{_unavailable_pages()}
  map $uri $civic_owner {{
    {(nl + "  ").join(owners)}
    default {home};
  }}
{temp}
  client_max_body_size {settings.max_body_bytes};
  server_tokens off;
  {nl.join(upstreams)}
  server {{
    listen {settings.host}:{settings.proxy_port};
    location = /favicon.ico {{ return 204; }}
    # nginx answers TRACE with a 405 of its own, before any location: let the service that owns
    # the path say which methods it allows instead (Allow, problem+json on the API).
    error_page 405 = @refused_method;
    location @refused_method {{ include proxy_headers.conf; proxy_pass http://$civic_owner; }}
{_own_answers(settings)}
{_session_check(ACCOUNTS_SERVICE)}
    # Anything no service claims is answered by the home page's "not found": a translated page, or
    # problem+json under /api/, with the request id. Rewritten first, so nothing else is reachable.
    location / {{ include proxy_headers.conf; rewrite ^ /not-found break; proxy_pass http://{home}; }}
    location /api/ {{ include proxy_headers.conf; rewrite ^ /api/not-found break; proxy_pass http://{home}; }}
    {(nl + "  ").join(locations)}
  }}
}}
"""


def write_nginx_config(
    specs: list[ServiceSpec],
    settings: Settings,
    prefix: Path,
    web_ports: Mapping[str, Sequence[int]] | None = None,
) -> Path:
    for sub in ("logs", "temp/client_body", "temp/proxy", "temp/fastcgi", "temp/uwsgi", "temp/scgi"):
        (prefix / sub).mkdir(parents=True, exist_ok=True)
    (prefix / "proxy_headers.conf").write_text(_COMMON_HEADERS)
    (prefix / "edge_headers.conf").write_text(
        "".join(f'add_header {name} "{value}" always;\n' for name, value in SECURITY_HEADERS.items())
        + "add_header X-Request-Id $civic_request_id always;\n"
    )
    conf = prefix / "nginx.conf"
    conf.write_text(nginx_config(specs, settings, prefix, web_ports))
    return conf
