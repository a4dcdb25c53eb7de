#!/usr/bin/env bash
# Install the system packages the project needs, when they are missing (Debian/Ubuntu).
# As root they are installed with apt-get; otherwise the exact command to run is printed.
#   pkg-config + MySQL client headers  to build mysqlclient
#   a MariaDB (or MySQL) server         the tests and the demo start a private one
#   a PostgreSQL server (initdb)        the PostgreSQL source tests and the system tests (Airflow's
#                                       metadata DB) start a private one unless CIO_TEST_POSTGRES_URL
#   python3-venv, python3-dev, gcc      the virtualenv and the mysqlclient build
#   chromium                            the browser tests of the Airflow UI page
#   redis-server                        the system tests start a private one (Celery's broker) unless
#                                       CIO_TEST_REDIS_URL
set -euo pipefail

PYTHON=${PYTHON:-python3}
missing=()

command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
if ! pkg-config --exists mysqlclient 2>/dev/null && ! pkg-config --exists libmariadb 2>/dev/null; then
  missing+=(default-libmysqlclient-dev)
fi
if [ -z "${CIO_TEST_MYSQL_URL:-}" ] && ! command -v mariadbd >/dev/null 2>&1 && ! command -v mysqld >/dev/null 2>&1 \
   && [ ! -x /usr/sbin/mariadbd ] && [ ! -x /usr/sbin/mysqld ]; then
  missing+=(mariadb-server)
fi
if [ -z "${CIO_TEST_POSTGRES_URL:-}" ] && ! command -v initdb >/dev/null 2>&1 \
   && ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
  missing+=(postgresql)
fi
command -v gcc >/dev/null 2>&1 || missing+=(gcc)
if [ -z "${CIO_TEST_REDIS_URL:-}" ] && ! command -v redis-server >/dev/null 2>&1; then
  missing+=(redis-server)
fi
# the UI tests drive Debian's Chromium with Playwright (Playwright's own browser download is disabled)
[ -x /usr/bin/chromium ] || missing+=(chromium fonts-liberation)
if ! "$PYTHON" -c "import ensurepip, venv" >/dev/null 2>&1; then
  missing+=(python3-venv)
fi
if ! "$PYTHON" -c "import os, sysconfig, sys; sys.exit(not os.path.exists(os.path.join(sysconfig.get_paths()['include'], 'Python.h')))"; then
  missing+=(python3-dev)
fi

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

command="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "Missing system packages: ${missing[*]}" >&2
  echo "Run:  sudo apt-get update && sudo $command" >&2
  exit 1
fi
echo "Installing system packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$command || { apt-get update && $command; }
