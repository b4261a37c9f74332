#!/usr/bin/env bash
# Full-chain benchmark: one Sluice process, two routes to the same upstream, measured in the same rounds:
#   plain  no plugins
#   chain  key-auth -> rate-limit (policy redis) -> transform -> ab-tagger-js (JavaScript, GraalJS) -> kafka-logger
# so the chain's cost is a ratio of the no-plugin route in the same run. Two more Sluice processes with the same
# config run with OpenTelemetry tracing on (OTLP/HTTP export to an nginx sink), one sampling 10% of requests and one
# all, measured in the same rounds. kafka-logger produces to a real single-node KRaft broker (Kafka from Maven
# Central, the tests' KafkaBroker) and every record is counted at the end. Then the chain's latency at a fixed rate
# of half its max (h2load --rps) against direct to the upstream. Sluice is started by bin/sluice with its defaults,
# pinned to CPU 0 (taskset: the JVM sees one core); the upstream (nginx, 1 KiB), wrk and the Kafka broker run on
# CPU 1. RESULTS.md quotes medians.
#
#   runtime/bench/chain.sh                        # defaults: RUNS=3 DURATION=20 WARMUP=60 CONNS=64
# Needs: nginx, wrk, h2load (nghttp2-client), taskset, curl; Redis at REDIS_URL (default redis://127.0.0.1:6379); the project built with
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
TRACED_PORT=${TRACED_PORT:-19025}
TRACED_ADMIN_PORT=${TRACED_ADMIN_PORT:-19026}
OTLP_PORT=${OTLP_PORT:-19027}
TRACED10_PORT=${TRACED10_PORT:-19028}
TRACED10_ADMIN_PORT=${TRACED10_ADMIN_PORT:-19029}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
TOPIC=access
OUT="$HERE/out-chain"
rm -rf "$OUT"
mkdir -p "$OUT"
for tool in nginx wrk taskset curl h2load; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx-light wrk nghttp2-client util-linux curl)" >&2; exit 1; }
done
redis_host=${REDIS_URL#*://}; redis_host=${redis_host%%/*}
(exec 3<>"/dev/tcp/${redis_host%%:*}/${redis_host##*:}") 2>/dev/null \
    || { echo "bench: no Redis at $REDIS_URL (start redis-server)" >&2; exit 1; }
JS="$ROOT/sample-plugins/js-filters/src/main/js/ab-tagger.js"
if [ ! -f "$ROOT/runtime/target/sluice-runtime.jar" ] || [ ! -d "$ROOT/runtime/target/test-classes/io/sluice/runtime/testing" ]; then
    (cd "$ROOT" && sluice_mvn -q -DskipTests install)
fi
# bin/sluice builds the runtime when its sources changed (about a minute): before a node's start-up wait, not in it
"$ROOT/bin/sluice" help >/dev/null

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
# a second Sluice process, the same config, with OpenTelemetry tracing on: spans exported over OTLP/HTTP to a sink
# (nginx answering 200 to POST /v1/traces, on CPU 1), to measure what tracing costs
nginx_conf "$OUT/nginx-otlp" "$OTLP_PORT" "server { listen 127.0.0.1:$OTLP_PORT; access_log $OUT/nginx-otlp/logs/access.log; location / { return 200; } }"
taskset -c 1 nginx -c "$OUT/nginx-otlp/nginx.conf" -p "$OUT/nginx-otlp"
start_node() { # name proxy-port admin-port [env...]: bin/sluice and its defaults (heap, GC, access log), on CPU 0
    local name=$1 port=$2 aport=$3; shift 3
    env SLUICE_ADMIN_TOKEN=$TOKEN "$@" taskset -c 0 "$ROOT/bin/sluice" start --data-dir "$OUT/data-$name" \
        --proxy-host 127.0.0.1 --proxy-port "$port" --admin-port "$aport" > "$OUT/sluice-$name.log" 2>&1 &
    NODE_PID=$!
    PIDS+=("$NODE_PID")
    for _ in $(seq 1 150); do
        curl -fs "http://127.0.0.1:$aport/health" >/dev/null 2>&1 && return 0
        sleep 0.2
    done
    echo "bench: Sluice ($name) did not start"; cat "$OUT/sluice-$name.log"; exit 1
}
admin() { # admin-port method path [curl args...]
    local a=$1 m=$2 p=$3; shift 3
    curl -fsS -X "$m" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$a$p" "$@"
}
json() { admin "$@" -H 'Content-Type: application/json'; }
configure() { # admin-port proxy-port name: the JS filter, a consumer with a key, the two routes; checks them
    local a=$1 port=$2 name=$3
    admin "$a" POST /v1/filters -H 'Content-Type: application/javascript' --data-binary "@$JS" >/dev/null
    json "$a" PUT /v1/consumers/bench -d '{}' >/dev/null
    KEY=$(json "$a" POST /v1/consumers/bench/api-keys -d '{}' | sed 's/.*"key" *: *"\([^"]*\)".*/\1/')
    json "$a" PUT /v1/routes/plain -d "{\"paths\": [\"/plain/**\"], \"strip_prefix\": \"/plain\",
        \"upstream\": {\"targets\": [{\"url\": \"http://127.0.0.1:$UP_PORT\"}]}}" >/dev/null
    json "$a" PUT /v1/routes/chain -d "{\"paths\": [\"/chain/**\"], \"strip_prefix\": \"/chain\",
        \"upstream\": {\"targets\": [{\"url\": \"http://127.0.0.1:$UP_PORT\"}]}, \"plugins\": [
      {\"name\": \"key-auth\"},
      {\"name\": \"rate-limit\", \"config\": {\"rate\": 100000000, \"by\": \"consumer\", \"policy\": \"redis\", \"redis_url\": \"$REDIS_URL\"}},
      {\"name\": \"transform\", \"config\": {\"request\": {\"headers\": {\"set\": {\"X-Bench\": \"1\"}}}, \"response\": {\"headers\": {\"remove\": [\"Server\"]}}}},
      {\"name\": \"ab-tagger-js\", \"config\": {\"experiment\": \"checkout\", \"percent_b\": 50, \"sticky_header\": \"X-Session-Id\"}},
      {\"name\": \"kafka-logger\", \"config\": {\"bootstrap_servers\": \"$BOOTSTRAP\", \"topic\": \"$TOPIC\", \"spill_dir\": \"$OUT/spill-$name\"}}]}" >/dev/null
    curl -fs "http://127.0.0.1:$port/plain/1k.txt" | wc -c | grep -q 1024 || { echo "bench: plain does not proxy ($name)"; exit 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/chain/1k.txt")" = 401 ] \
        || { echo "bench: the chain route does not ask for a key ($name)"; exit 1; }
    curl -fsi -H "X-API-Key: $KEY" -H 'X-Session-Id: user-2' "http://127.0.0.1:$port/chain/1k.txt" > "$OUT/chain-head-$name.txt" \
        || { echo "bench: the chain route does not proxy ($name)"; exit 1; }
    grep -qi '^x-ab-variant: B' "$OUT/chain-head-$name.txt" && grep -qi '^ratelimit-limit' "$OUT/chain-head-$name.txt" \
        && ! grep -qi '^server:' "$OUT/chain-head-$name.txt" || { echo "bench: the chain's filters did not all run ($name)"; exit 1; }
}
start_node untraced "$SLUICE_PORT" "$ADMIN_PORT"
SLUICE_PID=$NODE_PID
configure "$ADMIN_PORT" "$SLUICE_PORT" untraced
KEY_U=$KEY
start_node traced "$TRACED_PORT" "$TRACED_ADMIN_PORT" OTEL_TRACES_EXPORTER=otlp \
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$OTLP_PORT/v1/traces"
TRACED_PID=$NODE_PID
configure "$TRACED_ADMIN_PORT" "$TRACED_PORT" traced
KEY_T=$KEY
# a third: tracing on with 10% of requests sampled (what a busy gateway would run)
start_node traced10 "$TRACED10_PORT" "$TRACED10_ADMIN_PORT" OTEL_TRACES_EXPORTER=otlp \
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT="http://127.0.0.1:$OTLP_PORT/v1/traces" \
    OTEL_TRACES_SAMPLER=parentbased_traceidratio OTEL_TRACES_SAMPLER_ARG=0.1
TRACED10_PID=$NODE_PID
configure "$TRACED10_ADMIN_PORT" "$TRACED10_PORT" traced10
KEY_T10=$KEY

# name -> "port pid key": what wrk_run needs to measure (and account the CPU of) one Sluice process
measure() { # name seconds
    local port pid key path aport
    case "$1" in
        plain) aport=$ADMIN_PORT port=$SLUICE_PORT pid=$SLUICE_PID key=$KEY_U path=plain ;;
        chain) aport=$ADMIN_PORT port=$SLUICE_PORT pid=$SLUICE_PID key=$KEY_U path=chain ;;
        plain-traced) aport=$TRACED_ADMIN_PORT port=$TRACED_PORT pid=$TRACED_PID key=$KEY_T path=plain ;;
        chain-traced) aport=$TRACED_ADMIN_PORT port=$TRACED_PORT pid=$TRACED_PID key=$KEY_T path=chain ;;
        plain-traced10) aport=$TRACED10_ADMIN_PORT port=$TRACED10_PORT pid=$TRACED10_PID key=$KEY_T10 path=plain ;;
        chain-traced10) aport=$TRACED10_ADMIN_PORT port=$TRACED10_PORT pid=$TRACED10_PID key=$KEY_T10 path=chain ;;
    esac
    SLUICE_PORT=$port SLUICE_PID=$pid ADMIN_PORT=$aport wrk_run "http://127.0.0.1:$port/$path/1k.txt" "$2" -H "X-API-Key: $key" -H 'X-Session-Id: u1'
}
TARGETS="plain chain plain-traced10 chain-traced10 plain-traced chain-traced"
echo "bench: warming up each target $((WARMUP / 2)) s"
for t in $TARGETS; do measure "$t" $((WARMUP / 2)) >/dev/null; done
: > "$OUT/runs.txt"
for i in $(seq 1 "$RUNS"); do
    for t in $TARGETS; do
        echo "$t $(measure "$t" "$DURATION")" | tee -a "$OUT/runs.txt"
    done
done
# latency at a fixed rate of half the chain's median max RPS (h2load --rps, lib.sh rate_run): the chain route
# against direct to the upstream at the same rate; the added p99 is the difference (issue 19.4)
CH=$(awk '$1=="chain" {print $2}' "$OUT/runs.txt" | median)
half=$(awk -v c="$CH" 'BEGIN { printf "%d", c / 2 }')
lat_c=$(rate_run "http://127.0.0.1:$SLUICE_PORT/chain/1k.txt" "$half" "$DURATION" -H "X-API-Key: $KEY_U" -H 'X-Session-Id: u1')
lat_p=$(rate_run "http://127.0.0.1:$SLUICE_PORT/plain/1k.txt" "$half" "$DURATION")
lat_d=$(rate_run "http://127.0.0.1:$UP_PORT/1k.txt" "$half" "$DURATION")
# every chain request that reached kafka-logger (status 200) made one access record: each node's own counters
metrics_all() { for a in "$ADMIN_PORT" "$TRACED_ADMIN_PORT" "$TRACED10_ADMIN_PORT"; do curl -fs "http://127.0.0.1:$a/metrics"; done; }
kafka() { echo "$metrics" | awk -v o="$1" '/^sluice_kafka_records_total/ && $0 ~ "outcome=\""o"\"" {s+=$2} END {printf "%d", s}'; }
for _ in $(seq 1 50); do   # the sender's last batches leave (linger, acks): wait until the counts meet, at most 10 s
    metrics=$(metrics_all)
    chain_ok=$(echo "$metrics" | awk '/^sluice_requests_seconds_count/ && /route="chain"/ && /status="200"/ {s+=$2} END {printf "%d", s}')
    [ $(( $(kafka sent) + $(kafka spilled) + $(kafka dropped) )) -ge "$chain_ok" ] && break
    sleep 0.2
done
# where the chain's time goes: mean wall time per filter on the untraced node (sluice_filter_seconds)
curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics" > "$OUT/metrics-untraced.txt"
filters=$(awk '/^sluice_filter_seconds_(sum|count)\{/ && /route="chain"/ {
        match($0, /filter="[^"]*"/); f = substr($0, RSTART + 8, RLENGTH - 9)
        if ($0 ~ /_sum\{/) sum[f] += $2; else cnt[f] += $2 }
    END { for (f in sum) if (cnt[f] > 0) printf "%s %.1f us  ", f, sum[f] / cnt[f] * 1e6 }' "$OUT/metrics-untraced.txt")
spans_posted=$(grep -c 'POST /v1/traces' "$OUT/nginx-otlp/logs/access.log" 2>/dev/null || echo 0)
col() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$OUT/runs.txt" | median; }
P=$(col plain 2); C=$(col chain 2); PT=$(col plain-traced 2); CT=$(col chain-traced 2)
PT10=$(col plain-traced10 2); CT10=$(col chain-traced10 2)
{
    echo "date: $(date -u +%FT%TZ)  runs: $RUNS x ${DURATION}s  conns: $CONNS  warm-up: ${WARMUP}s"
    echo "chain: key-auth, rate-limit (redis), transform, ab-tagger-js (JavaScript), kafka-logger (broker $BOOTSTRAP)"
    echo "median RPS: no-plugin $P  chain $C"
    echo "median RPS with tracing on (OTLP export), 10% sampled: no-plugin $PT10  chain $CT10"
    echo "median RPS with tracing on (OTLP export), all sampled: no-plugin $PT  chain $CT"
    awk -v p="$P" -v c="$C" -v pt="$PT10" -v ct="$CT10" 'BEGIN { printf "tracing at 10%%: no-plugin %.3f of untraced, chain %.3f\n", pt/p, ct/c }'
    echo "fixed rate $half rps (h2load --rps, $CONNS conns) achieved-rps/p50/p99/p99.9 ms/non-2xx: chain $lat_c ; no-plugin $lat_p ; direct $lat_d"
    awk -v a="$lat_c" -v b="$lat_d" 'BEGIN { split(a,x," "); split(b,y," "); printf "chain: added p99 at half its max load (fixed rate): %.3f ms\n", x[3]-y[3] }'
    awk -v p="$P" -v c="$C" -v pt="$PT" -v ct="$CT" 'BEGIN { printf "ratios: chain/no-plugin %.3f  traced/untraced no-plugin %.3f  chain %.3f  traced chain/untraced no-plugin %.3f\n", c/p, pt/p, ct/c, ct/p }'
    echo "per round chain/no-plugin: $(awk '$1=="plain" {p=$2} $1=="chain" {printf "%.3f ", $2/p}' "$OUT/runs.txt")"
    for t in $TARGETS; do echo "$t: p50/p99 ms $(col "$t" 3)/$(col "$t" 4)  CPU us/request of Sluice $(col "$t" 5)"; done
    echo "failed responses (non-2xx/3xx + socket errors) in the measured runs: $(awk '{n+=$6} END {print n+0}' "$OUT/runs.txt")"
    echo "mean wall time per filter on the chain route (untraced node, warm-up included): $filters"
    echo "OTLP export POSTs received by the sink: $spans_posted"
    echo "access records (both nodes): chain requests answered 200: $chain_ok  records sent $(kafka sent)  spilled $(kafka spilled)  dropped $(kafka dropped)"
} | tee "$OUT/summary.txt"
