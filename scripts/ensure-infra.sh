#!/usr/bin/env bash
# Make sure PostgreSQL, RabbitMQ and nginx are here and running: start what is stopped, install
# what is missing when we are root (Debian), otherwise say the one command that does it; then
# the platform's two database roles (deploy/roles.py).
set -uo pipefail
cd "$(dirname "$0")/.."

is_root() { [ "$(id -u)" -eq 0 ]; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_install() {
  if is_root && command -v apt-get >/dev/null; then
    echo "installing $* with apt-get"
    # A fresh machine may not have package lists yet; refresh at most once per run.
    [ -n "${APT_UPDATED:-}" ] || { apt-get update -qq >/dev/null; APT_UPDATED=1; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
  else
    echo "missing: $*. Install with: sudo apt-get install -y $*" >&2
    exit 1
  fi
}
wait_port() {
  for _ in $(seq 1 60); do port_open "$1" && return 0; sleep 0.5; done
  echo "$2 did not come up on port $1" >&2; exit 1
}

# PostgreSQL
if ! port_open 5432; then
  if ! ls /etc/postgresql/*/main >/dev/null 2>&1; then
    apt_install postgresql
  fi
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -1)" main start
  wait_port 5432 PostgreSQL
fi

# RabbitMQ
if ! port_open 5672; then
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  echo "starting RabbitMQ"
  # Debian's script starts the broker through `su rabbitmq`, which gives it the soft limit of 1024
  # open files: RabbitMQ keeps about 927 handles for queues then, each quorum queue takes about
  # three, and past some 300 queues (four platforms' worth, started by tests) it stops answering.
  # Its hard limit is higher: raise the soft one to it for the broker alone.
  if [ "$(id -u)" = 0 ] && id rabbitmq >/dev/null 2>&1; then
    su rabbitmq -s /bin/sh -c 'ulimit -n "$(ulimit -Hn)"; exec /usr/lib/rabbitmq/bin/rabbitmq-server -detached'
  else
    rabbitmq-server -detached
  fi
  wait_port 5672 RabbitMQ
fi

# nginx (the one address in front of the services)
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  apt_install nginx
  # Debian starts a default site on port 80 after installing; we run our own instance instead.
  if [ -f /run/nginx.pid ]; then /usr/sbin/nginx -s quit 2>/dev/null || true; fi
fi
# Chromium, for the browser tests (`make test` asks for it; `make run` does not need it)
if [ "${1:-}" = "--browser" ] && [ ! -x /usr/lib/chromium/chromium ]; then
  apt_install chromium
fi

# The owner and serving roles, with passwords kept in .env: created once (as root), checked after.
exec .venv/bin/python -m deploy.roles
