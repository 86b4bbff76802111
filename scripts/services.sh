#!/usr/bin/env bash
# Makes sure the servers the tests talk to are up: PostgreSQL (127.0.0.1:5432) and Redis (:6379).
# Starts a stopped one when this machine has it installed; never installs or reconfigures one.
set -uo pipefail

up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

if ! up 5432; then
    if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
        echo "Starting PostgreSQL..." >&2
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
    fi
fi
if ! up 6379; then
    if command -v redis-server >/dev/null 2>&1; then
        echo "Starting Redis..." >&2
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
            --dir /tmp --logfile /tmp/redis-voxtral-tests.log || true
    fi
fi
for i in $(seq 1 20); do up 5432 && up 6379 && exit 0; sleep 0.5; done
up 5432 || echo "PostgreSQL is not reachable on 127.0.0.1:5432: the PostgreSQL run of the tests will fail." >&2
up 6379 || echo "Redis is not reachable on 127.0.0.1:6379: the RQ test will fail." >&2
exit 0
