#!/usr/bin/env bash
# Full-chain benchmark: one Sluice process, two routes to the same upstream, measured in the same rounds:
#   plain  no plugins
#   chain  key-auth -> rate-limit (policy redis) -> transform -> ab-tagger-js (JavaScript, GraalJS) -> kafka-logger
# so the chain's cost is a ratio of the no-plugin route in the same run. kafka-logger produces to a real
# single-node KRaft broker (Kafka from Maven Central, the tests' KafkaBroker) and every record is counted at the end.
# Sluice alone on CPU 0 (-XX:ActiveProcessorCount=1), as bin/sluice runs it (GraalJS optimizing runtime); the
# upstream (nginx, 1 KiB), wrk and the Kafka broker on CPU 1. RESULTS.md quotes medians.
#
#   runtime/bench/chain.sh                        # defaults: RUNS=3 DURATION=20 WARMUP=60 CONNS=64
# Needs: nginx, wrk, taskset, curl; Redis at REDIS_URL (default redis://127.0.0.1:6379); the project built with
# its tests compiled (bin/test, or mvn install). Targets 127.0.0.1 only; stops what it started.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$ROOT/bin/jdk.sh"
sluice_use_jdk
. "$HERE/lib.sh"

RUNS=${RUNS:-3}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-60}
CONNS=${CONNS:-64}
UP_PORT=${UP_PORT:-19021}
NGX_PORT=${NGX_PORT:-19022}
SLUICE_PORT=${SLUICE_PORT:-19023}
ADMIN_PORT=${ADMIN_PORT:-19024}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
TOPIC=access
OUT="$HERE/out-chain"
rm -rf "$OUT"
mkdir -p "$OUT"
for tool in nginx wrk taskset curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx-light wrk util-linux curl)" >&2; exit 1; }
done
redis_host=${REDIS_URL#*://}; redis_host=${redis_host%%/*}
(exec 3<>"/dev/tcp/${redis_host%%:*}/${redis_host##*:}") 2>/dev/null \
    || { echo "bench: no Redis at $REDIS_URL (start redis-server)" >&2; exit 1; }
JS="$ROOT/sample-plugins/js-filters/src/main/js/ab-tagger.js"
if [ ! -f "$ROOT/runtime/target/sluice-runtime.jar" ] || [ ! -d "$ROOT/runtime/target/test-classes/io/sluice/runtime/testing" ]; then
    (cd "$ROOT" && sluice_mvn -q -DskipTests install)
fi

# the Kafka broker (test class path: kafka from Maven Central), on CPU 1
(cd "$ROOT/runtime" && sluice_mvn -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$OUT/test.cp") >/dev/null
taskset -c 1 "$JAVA_HOME/bin/java" -Xmx1g -cp "$ROOT/runtime/target/test-classes:$ROOT/runtime/target/classes:$(cat "$OUT/test.cp")" \
    io.sluice.runtime.testing.KafkaBroker "$TOPIC" > "$OUT/kafka.log" 2>&1 &
PIDS+=($!)
for _ in $(seq 1 300); do
    grep -q '^bootstrap ' "$OUT/kafka.log" && break
    sleep 0.2
done
BOOTSTRAP=$(awk '/^bootstrap / {print $2}' "$OUT/kafka.log")
[ -n "$BOOTSTRAP" ] || { echo "bench: the Kafka broker did not start"; tail -20 "$OUT/kafka.log"; exit 1; }

head -c 1024 /dev/zero | tr '\0' 'x' > "$OUT/1k.txt"
nginx_conf "$OUT/nginx-up" "$UP_PORT" "server { listen 127.0.0.1:$UP_PORT; location / { root $OUT; } }"
taskset -c 1 nginx -c "$OUT/nginx-up/nginx.conf" -p "$OUT/nginx-up"

TOKEN=bench-admin-token-0123456789abcdef
sluice_graal_flags "$ROOT"
SLUICE_ADMIN_TOKEN=$TOKEN taskset -c 0 "$JAVA_HOME/bin/java" -XX:ActiveProcessorCount=1 \
    ${BENCH_JVM_OPTS:--XX:+UseParallelGC -Xms512m -Xmx512m} "${SLUICE_GRAAL[@]}" \
    -jar "$ROOT/runtime/target/sluice-runtime.jar" start --data-dir "$OUT/data" \
    --proxy-host 127.0.0.1 --proxy-port "$SLUICE_PORT" --admin-port "$ADMIN_PORT" > "$OUT/sluice.log" 2>&1 &
SLUICE_PID=$!
PIDS+=("$SLUICE_PID")
for _ in $(seq 1 150); do
    curl -fs "http://127.0.0.1:$ADMIN_PORT/health" >/dev/null 2>&1 && break
    sleep 0.2
done
admin() { # method path [curl args...]
    local m=$1 p=$2; shift 2
    curl -fsS -X "$m" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$ADMIN_PORT$p" "$@"
}
json() { admin "$@" -H 'Content-Type: application/json'; }
admin POST /v1/filters -H 'Content-Type: application/javascript' --data-binary "@$JS" >/dev/null
json PUT /v1/consumers/bench -d '{}' >/dev/null
KEY=$(json POST /v1/consumers/bench/api-keys -d '{}' | sed 's/.*"key" *: *"\([^"]*\)".*/\1/')
route() { # id plugins
    json PUT "/v1/routes/$1" -d "{\"paths\": [\"/$1/**\"], \"strip_prefix\": \"/$1\",
        \"upstream\": {\"targets\": [{\"url\": \"http://127.0.0.1:$UP_PORT\"}]}, \"plugins\": $2}" >/dev/null
}
route plain '[]'
route chain "[
  {\"name\": \"key-auth\"},
  {\"name\": \"rate-limit\", \"config\": {\"rate\": 100000000, \"by\": \"consumer\", \"policy\": \"redis\", \"redis_url\": \"$REDIS_URL\"}},
  {\"name\": \"transform\", \"config\": {\"request\": {\"headers\": {\"set\": {\"X-Bench\": \"1\"}}}, \"response\": {\"headers\": {\"remove\": [\"Server\"]}}}},
  {\"name\": \"ab-tagger-js\", \"config\": {\"experiment\": \"checkout\", \"percent_b\": 50, \"sticky_header\": \"X-Session-Id\"}},
  {\"name\": \"kafka-logger\", \"config\": {\"bootstrap_servers\": \"$BOOTSTRAP\", \"topic\": \"$TOPIC\", \"spill_dir\": \"$OUT/spill\"}}
]"
curl -fs "http://127.0.0.1:$SLUICE_PORT/plain/1k.txt" | wc -c | grep -q 1024 || { echo "bench: plain does not proxy"; cat "$OUT/sluice.log"; exit 1; }
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$SLUICE_PORT/chain/1k.txt")" = 401 ] \
    || { echo "bench: the chain route does not ask for a key"; exit 1; }
curl -fsi -H "X-API-Key: $KEY" -H 'X-Session-Id: user-2' "http://127.0.0.1:$SLUICE_PORT/chain/1k.txt" > "$OUT/chain-head.txt" \
    || { echo "bench: the chain route does not proxy"; cat "$OUT/sluice.log"; exit 1; }
grep -qi '^x-ab-variant: B' "$OUT/chain-head.txt" && grep -qi '^ratelimit-limit' "$OUT/chain-head.txt" \
    && ! grep -qi '^server:' "$OUT/chain-head.txt" || { echo "bench: the chain's filters did not all run"; cat "$OUT/chain-head.txt"; exit 1; }

echo "bench: warming up each route $((WARMUP / 2)) s"
wrk_run "http://127.0.0.1:$SLUICE_PORT/plain/1k.txt" $((WARMUP / 2)) >/dev/null
wrk_run "http://127.0.0.1:$SLUICE_PORT/chain/1k.txt" $((WARMUP / 2)) -H "X-API-Key: $KEY" -H 'X-Session-Id: u1' >/dev/null
: > "$OUT/runs.txt"
for i in $(seq 1 "$RUNS"); do
    echo "plain $(wrk_run "http://127.0.0.1:$SLUICE_PORT/plain/1k.txt" "$DURATION")" | tee -a "$OUT/runs.txt"
    echo "chain $(wrk_run "http://127.0.0.1:$SLUICE_PORT/chain/1k.txt" "$DURATION" -H "X-API-Key: $KEY" -H 'X-Session-Id: u1')" | tee -a "$OUT/runs.txt"
done
# every chain request that reached kafka-logger (status 200) made one access record: Sluice's own counters
kafka() { echo "$metrics" | awk -v o="$1" '/^sluice_kafka_records_total/ && $0 ~ "outcome=\""o"\"" {s+=$2} END {printf "%d", s}'; }
for _ in $(seq 1 50); do   # the sender's last batches leave (linger, acks): wait until the counts meet, at most 10 s
    metrics=$(curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics")
    chain_ok=$(echo "$metrics" | awk '/^sluice_requests_seconds_count/ && /route="chain"/ && /status="200"/ {s+=$2} END {printf "%d", s}')
    [ $(( $(kafka sent) + $(kafka spilled) + $(kafka dropped) )) -ge "$chain_ok" ] && break
    sleep 0.2
done
col() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$OUT/runs.txt" | median; }
P=$(col plain 2); C=$(col chain 2)
{
    echo "date: $(date -u +%FT%TZ)  runs: $RUNS x ${DURATION}s  conns: $CONNS  warm-up: ${WARMUP}s"
    echo "chain: key-auth, rate-limit (redis), transform, ab-tagger-js (JavaScript), kafka-logger (broker $BOOTSTRAP)"
    echo "median RPS: no-plugin $P  chain $C"
    awk -v p="$P" -v c="$C" 'BEGIN { printf "ratio chain/no-plugin %.3f\n", c/p }'
    echo "per round chain/no-plugin: $(awk '$1=="plain" {p=$2} $1=="chain" {printf "%.3f ", $2/p}' "$OUT/runs.txt")"
    echo "p50/p99 ms (median): no-plugin $(col plain 3)/$(col plain 4)  chain $(col chain 3)/$(col chain 4)"
    echo "CPU us per request of Sluice (median): no-plugin $(col plain 5)  chain $(col chain 5)"
    echo "failed responses (non-2xx/3xx + socket errors) in the measured runs: $(awk '{n+=$6} END {print n+0}' "$OUT/runs.txt")"
    echo "access records: chain requests answered 200: $chain_ok  records sent $(kafka sent)  spilled $(kafka spilled)  dropped $(kafka dropped)"
} | tee "$OUT/summary.txt"
