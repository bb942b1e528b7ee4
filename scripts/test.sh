#!/usr/bin/env bash
# Runs dingk3's test suite: unit tests and the end-to-end tests against a real RabbitMQ,
# PostgreSQL and the simulators.
#
# Needs a RabbitMQ at AMQP_URL (default amqp://guest:guest@127.0.0.1:5672/%2f) and a
# PostgreSQL at DATABASE_URL (default postgres://postgres@127.0.0.1:5432/test). A test
# that needs the broker fails when it cannot reach it; nothing is skipped silently.
set -euo pipefail
cd "$(dirname "$0")/.."

export AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/test}"

# Say clearly which service is missing before hundreds of tests fail for that reason.
check_port() {
  local name=$1 host=$2 port=$3 hint=$4
  if ! (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
    echo "test.sh: $name is not reachable at $host:$port. $hint" >&2
    exit 1
  fi
}
amqp_hostport=$(sed -E 's#^amqps?://([^@/]*@)?([^/:]+)(:([0-9]+))?.*#\2 \4#' <<<"$AMQP_URL")
read -r amqp_host amqp_port <<<"$amqp_hostport"
check_port RabbitMQ "$amqp_host" "${amqp_port:-5672}" "Start it (e.g. 'rabbitmq-server -detached') or set AMQP_URL."
pg_hostport=$(sed -E 's#^postgres(ql)?://([^@/]*@)?([^/:]+)(:([0-9]+))?.*#\3 \5#' <<<"$DATABASE_URL")
read -r pg_host pg_port <<<"$pg_hostport"
check_port PostgreSQL "$pg_host" "${pg_port:-5432}" "Start it or set DATABASE_URL."

# The TLS tests put socat, with an openssl-made CA, in front of the broker and the
# simulators; the reconnect tests close the tests' own broker connections with rabbitmqctl.
for command in socat openssl rabbitmqctl; do
  if ! command -v "$command" >/dev/null 2>&1; then
    echo "test.sh: $command is not installed; install it (Debian: apt-get install socat openssl rabbitmq-server)." >&2
    exit 1
  fi
done

cargo test --workspace --locked "$@"
