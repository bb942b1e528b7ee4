#!/usr/bin/env bash
# Runs dingk3's whole job on this machine without Docker and checks its end state.
#
# It builds the binaries (debug unless --release), starts the K3Cloud simulator, the
# DingTalk simulator (the handed cases of tests/fixtures/cases moved to the last days,
# plus generated claims from a fixed seed), one `producer run` and two `consumer run`
# processes. They share the RabbitMQ at AMQP_URL (default
# amqp://guest:guest@127.0.0.1:5672/%2f) under a broker prefix of this run's own and a
# fresh SQLite ledger in a temporary folder, which also contains the configuration file
# and every log. The script waits until every approval is settled, prints a summary,
# stops everything it started by pid (also on failure, SIGINT or SIGTERM), deletes its
# queues and exchanges, and removes the folder unless the run failed.
#
# Usage: scripts/demo.sh [--release] [--claims N] [--timeout SECONDS] [--keep]
#   --claims N      generated claims besides the five cases (default 200)
#   --timeout S     seconds to wait for the approvals to settle (default 90)
#   --keep          keep the temporary folder and the run's queues after a successful
#                   run, so that `consumer status` and `consumer dlq list` can be tried
#                   with the configuration in that folder (the script prints the commands)
#
# Needs bash, curl, jq and setsid (util-linux). The last line it prints is
#   demo: approvals=N saved=S duplicates=D rejected=R skipped=K dead_letters=L
# where
#   approvals     approval instances the DingTalk simulator holds, of every status;
#   saved         approvals the ledger records as saved: their bill was written;
#   duplicates    K3Cloud bills beyond the first with the same bill number;
#   rejected      approvals the ledger records as rejected: the mapping or K3Cloud
#                 cannot turn them into a bill (e.g. a row without an amount);
#   skipped       approvals that are due no bill: refused or withdrawn (ledger
#                 skipped) or still running in DingTalk (ledger pending);
#   dead_letters  messages in the dead-letter queue, one per rejected approval.
# It exits 0 only when the K3Cloud simulator holds exactly one bill per saved
# approval (and those are the approvals the simulator's ground truth says must become
# bills), duplicates is 0, approvals = saved + rejected + skipped, and
# dead_letters = rejected. Otherwise it exits 1 and keeps the folder with the logs.
set -euo pipefail
cd "$(dirname "$0")/.."

profile=debug
claims=200
settle_timeout=90
keep=false
while [ $# -gt 0 ]; do
  case "$1" in
    --release) profile=release ;;
    --claims) claims=$2; shift ;;
    --timeout) settle_timeout=$2; shift ;;
    --keep) keep=true ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "demo: unknown argument $1; see --help" >&2; exit 2 ;;
  esac
  shift
done

AMQP_URL="${AMQP_URL:-amqp://guest:guest@127.0.0.1:5672/%2f}"
# The simulators' default credentials; they are fixed test values, not secrets.
DINGTALK_APP_KEY=dingsimulatorappkey
DINGTALK_APP_SECRET=dingsimulator-app-secret
K3_ACCT_ID=66f0a1b2c3d4e5
K3_USERNAME=dingk3
K3_APP_ID=300001_ZGluZ2szLXNpbXVsYXRvci1hcHAtaWQh
K3_APP_SECRET=b7e2c5d8f1a94e3c8d6b2a7f0e5c9d13
SEED=42
STOP_GRACE_SECONDS=20

started=$(date +%s)
say() { printf 'demo [%3ss]: %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }
fail() { say "FAILED: $*"; exit 1; }

for tool in curl jq setsid; do
  command -v "$tool" >/dev/null || fail "$tool is not installed; install it and run again"
done
amqp_hostport=$(sed -E 's#^amqps?://([^@/]*@)?([^/:]+)(:([0-9]+))?.*#\2 \4#' <<<"$AMQP_URL")
read -r amqp_host amqp_port <<<"$amqp_hostport"
if ! (exec 3<>"/dev/tcp/$amqp_host/${amqp_port:-5672}") 2>/dev/null; then
  fail "RabbitMQ is not reachable at $amqp_host:${amqp_port:-5672}; start it (rabbitmq-server -detached) or set AMQP_URL"
fi

say "building the $profile binaries"
build_args=(build --bins -p dingk3-simulator -p dingk3-producer -p dingk3-consumer -p dingk3-tests)
[ "$profile" = release ] && build_args+=(--release)
cargo "${build_args[@]}" >&2
bin="${CARGO_TARGET_DIR:-target}/$profile"

work=$(mktemp -d -t dingk3-demo.XXXXXX)
prefix="dingk3-demo-$(date +%s)-$$"
config="$work/dingk3.toml"
pids=()
succeeded=false
topology_deleted=false

# Stops every process this run started, newest first: SIGTERM, then SIGKILL after
# STOP_GRACE_SECONDS. Then deletes the run's queues and exchanges. Runs once.
stop_all() {
  local index pid waited
  for (( index=${#pids[@]}-1; index>=0; index-- )); do
    pid=${pids[index]}
    kill -TERM "$pid" 2>/dev/null || continue
    waited=0
    while kill -0 "$pid" 2>/dev/null && [ "$waited" -lt $(( STOP_GRACE_SECONDS * 10 )) ]; do
      sleep 0.1
      waited=$(( waited + 1 ))
    done
    if kill -0 "$pid" 2>/dev/null; then
      say "process $pid did not stop within ${STOP_GRACE_SECONDS}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  pids=()
  if [ "$keep" = true ] && [ -f "$config" ]; then
    say "queues kept; try: $bin/consumer status --config $config"
    say "              and: $bin/consumer dlq list --config $config"
    say "delete them with: $bin/delete-topology --config $config"
    topology_deleted=true
  fi
  if [ -f "$config" ] && [ "$topology_deleted" = false ]; then
    topology_deleted=true
    "$bin/delete-topology" --lang en --config "$config" >&2 \
      || say "the queues and exchanges of $prefix could not be deleted"
  fi
}

# Runs at every exit: stops what still runs and removes the folder after success.
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_all
  if [ "$succeeded" = true ] && [ "$keep" = false ]; then
    rm -rf "$work"
  else
    say "configuration and logs kept in $work"
  fi
  exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

# Starts a command in the background with its stdout in $work/<name>.out and its
# stderr (the log) in $work/<name>.log. setsid puts it in a session of its own, so
# Ctrl-C reaches only this script, whose trap then stops everything in order.
start() {
  local name=$1
  shift
  setsid "$@" >"$work/$name.out" 2>"$work/$name.log" &
  pids+=("$!")
}

# Waits until a simulator printed its base URL as its first line of output, and
# prints it.
base_url() {
  local name=$1
  for _ in $(seq 1 100); do
    if head -n1 "$work/$name.out" | grep -q '^http://'; then
      head -n1 "$work/$name.out"
      return 0
    fi
    sleep 0.1
  done
  fail "the $name simulator printed no base URL; end of $work/$name.log: $(tail -n5 "$work/$name.log")"
}

start k3cloud "$bin/simulator" --lang en k3cloud --listen 127.0.0.1:0
k3_url=$(base_url k3cloud)
start dingtalk "$bin/simulator" --lang en dingtalk --listen 127.0.0.1:0 \
  --instances tests/fixtures/cases --shift-dates --generate "$claims" --seed "$SEED"
dingtalk_url=$(base_url dingtalk)
say "K3Cloud simulator at $k3_url, DingTalk simulator at $dingtalk_url"

# The routes, mappings and value maps of the example configuration: every table from
# the first [[routes]], [mappings…] or [value_maps…] header, up to another section.
example_routes() {
  awk '
    /^\[\[routes\]\]/ || /^\[(mappings|value_maps)[].]/ { keep = 1 }
    /^\[[a-z_]+\]/ && !/^\[(mappings|value_maps)\]/ { keep = 0 }
    keep { print }
  ' config/dingk3.example.toml
}

cat >"$config" <<EOF
# Written by scripts/demo.sh for broker prefix $prefix.
[log]
format = "text"
level = "info,lapin=off"

[dingtalk]
api = "topapi"
oapi_base_url = "$dingtalk_url"
api_base_url = "$dingtalk_url"
app_key = "$DINGTALK_APP_KEY"
app_secret = "$DINGTALK_APP_SECRET"
rate_limit_per_second = 100

[k3cloud]
base_url = "$k3_url"
acct_id = "$K3_ACCT_ID"
username = "$K3_USERNAME"
auth = "signature"
app_id = "$K3_APP_ID"
app_secret = "$K3_APP_SECRET"

[broker]
url = "$AMQP_URL"
prefix = "$prefix"
retry_tiers = ["5s", "30s"]

[ledger]
url = "sqlite://$work/ledger.sqlite"

[producer]
poll_interval_seconds = 2
pending_recheck_seconds = 0
initial_lookback_days = 90
metrics_listen = "127.0.0.1:0"
shutdown_grace_seconds = 10

[consumer]
metrics_listen = "127.0.0.1:0"
shutdown_grace_seconds = 10

EOF
example_routes >>"$config"

for number in 1 2; do
  start "consumer-$number" env DINGK3_CONSUMER__CONSUMER_ID="demo-consumer-$number" \
    "$bin/consumer" --lang en run --config "$config"
done
start producer "$bin/producer" --lang en run --config "$config"
say "producer and two consumers started on broker prefix $prefix; ledger $work/ledger.sqlite"

# Fails when a started process has exited.
check_alive() {
  local index names=(k3cloud dingtalk consumer-1 consumer-2 producer)
  for index in "${!pids[@]}"; do
    if ! kill -0 "${pids[index]}" 2>/dev/null; then
      fail "${names[index]} exited early; end of $work/${names[index]}.log:
$(tail -n20 "$work/${names[index]}.log")"
    fi
  done
}

count() { jq -r --arg status "$1" '.counts[$status] // 0' <<<"$report"; }

approvals=$(curl -fsS "$dingtalk_url/__sim/info" | jq -r '.instances')
deadline=$(( $(date +%s) + settle_timeout ))
previous=""
settled=false
while [ "$(date +%s)" -lt "$deadline" ]; do
  sleep 1
  check_alive
  report=$("$bin/consumer" --lang en status --config "$config" --format json 2>>"$work/status.log") || continue
  running=$(curl -fsS "$dingtalk_url/__sim/instances" \
    | jq '[.[] | select(.status == "RUNNING" or .status == "NEW")] | length')
  state="total=$(jq -r '.total' <<<"$report") pending=$(count pending) published=$(count published)"
  state+=" saving=$(count saving) saved=$(count saved) rejected=$(count rejected)"
  state+=" skipped=$(count skipped) dead=$(count dead) dead_letters=$(jq -r '.dead_letter_queue.depth' <<<"$report")"
  if [ "$(jq -r '.total' <<<"$report")" = "$approvals" ] \
    && [ "$(count published)" = 0 ] && [ "$(count saving)" = 0 ] \
    && [ "$(count pending)" = "$running" ]; then
    if [ "$state" = "$previous" ]; then
      settled=true
      break
    fi
  fi
  previous=$state
done
[ "$settled" = true ] || fail "the approvals did not settle within ${settle_timeout}s; last state: ${state:-none}; $approvals approvals, ${running:-?} running in DingTalk"
say "settled: $state"

saved=$(count saved)
rejected=$(count rejected)
skipped=$(( $(count skipped) + $(count pending) ))
dead=$(count dead)
dead_letters=$(jq -r '.dead_letter_queue.depth' <<<"$report")
bills=$(curl -fsS "${k3_url%/k3cloud/}/__sim/bills")
bill_count=$(jq 'length' <<<"$bills")
distinct=$(jq '[.[].FBillNo | ascii_upcase] | unique | length' <<<"$bills")
duplicates=$(( bill_count - distinct ))
# The bills the ground truth calls for: the example mapping numbers them DD-<审批编号>.
expected_numbers=$(curl -fsS "$dingtalk_url/__sim/instances" \
  | jq -r '.[] | select(.truth.approved and .truth.expected.expect == "saved") | "DD-" + .business_id | ascii_upcase' | sort)
stored_numbers=$(jq -r '.[].FBillNo | ascii_upcase' <<<"$bills" | sort -u)

problems=()
[ "$duplicates" -eq 0 ] || problems+=("K3Cloud holds $duplicates duplicate bills")
[ "$bill_count" -eq "$saved" ] || problems+=("K3Cloud holds $bill_count bills for $saved saved approvals")
[ "$stored_numbers" = "$expected_numbers" ] \
  || problems+=("the bills differ from the approvals that must become bills: $(diff <(echo "$expected_numbers") <(echo "$stored_numbers") | grep '^[<>]' | head -n5 | tr '\n' ' ')")
[ "$dead" -eq 0 ] || problems+=("$dead approvals are dead after exhausting their retries")
[ "$approvals" -eq $(( saved + rejected + skipped )) ] \
  || problems+=("approvals ($approvals) is not saved + rejected + skipped ($saved + $rejected + $skipped)")
[ "$dead_letters" = "$rejected" ] \
  || problems+=("dead_letters ($dead_letters) is not rejected ($rejected)")

if [ "${#problems[@]}" -eq 0 ]; then
  succeeded=true
else
  for problem in "${problems[@]}"; do say "FAILED: $problem"; done
fi
# Stop first, so that the summary is the last line of the output.
stop_all
say "done in $(( $(date +%s) - started ))s"
echo "demo: approvals=$approvals saved=$saved duplicates=$duplicates rejected=$rejected skipped=$skipped dead_letters=$dead_letters"
[ "$succeeded" = true ]
