#!/usr/bin/env bash
# The whole suite: SQLite, then the database tests again on a throwaway PostgreSQL server,
# then the browser tests in Chromium. Any failure fails the run.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
status=0

echo "== 1/3 unit and web tests on SQLite"
$PY -m pytest tests --ignore=tests/browser -q || status=1

echo "== 2/3 database tests on PostgreSQL"
pgdir=$(mktemp -d /tmp/ppd-pg.XXXXXX)
trap 'bash scripts/pg-test-server.sh stop "$pgdir"' EXIT
if url=$(bash scripts/pg-test-server.sh start "$pgdir"); then
  TEST_DATABASE_URL="$url" $PY -m pytest tests --ignore=tests/browser --ignore=tests/sla -q -p no:randomly || status=1
else
  echo "PostgreSQL server could not start" >&2
  if [[ "${CI:-}" == "true" ]]; then status=1; fi
fi

echo "== 3/3 browser tests in Chromium"
$PY -m pytest tests/browser -q || status=1

exit $status
