#!/usr/bin/env bash
# JavaScript vs Java filter benchmark: the same filter (ab-tagger, sample-plugins) as a PF4J jar and as a
# JavaScript module, each on its own route of one Sluice process, beside a route without filters, measured in the
# same rounds. Sluice runs as bin/sluice runs it (GraalJS optimizing runtime), alone on CPU 0 with
# -XX:ActiveProcessorCount=1; the upstream (nginx, 1 KiB) and wrk on CPU 1. RESULTS.md quotes medians.
#
#   runtime/bench/filters.sh                      # defaults: RUNS=3 DURATION=20 WARMUP=60 CONNS=64
# Needs: nginx, wrk, taskset, curl; the sample plugins built (bin/test or mvn install). Targets 127.0.0.1 only.
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
UP_PORT=${UP_PORT:-19011}
NGX_PORT=${NGX_PORT:-19012}
SLUICE_PORT=${SLUICE_PORT:-19013}
ADMIN_PORT=${ADMIN_PORT:-19014}
OUT="$HERE/out-filters"
rm -rf "$OUT"
mkdir -p "$OUT"
for tool in nginx wrk taskset curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx-light wrk util-linux curl)" >&2; exit 1; }
done
JAR="$ROOT/sample-plugins/ab-tagger/target/ab-tagger-1.0.0.jar"
JS="$ROOT/sample-plugins/js-filters/src/main/js/ab-tagger.js"
if [ ! -f "$ROOT/runtime/target/sluice-runtime.jar" ] || [ ! -f "$JAR" ]; then
    (cd "$ROOT" && sluice_mvn -q -DskipTests install)
fi

head -c 1024 /dev/zero | tr '\0' 'x' > "$OUT/1k.txt"
nginx_conf "$OUT/nginx-up" "$UP_PORT" "server { listen 127.0.0.1:$UP_PORT; location / { root $OUT; } }"
taskset -c 1 nginx -c "$OUT/nginx-up/nginx.conf" -p "$OUT/nginx-up"

TOKEN=bench-admin-token-0123456789abcdef
sluice_graal_flags "$ROOT/runtime/target"
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
    curl -fsS -X "$m" -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$ADMIN_PORT$p" "$@" >/dev/null
}
admin POST /v1/filters -H 'Content-Type: application/java-archive' --data-binary "@$JAR"
admin POST /v1/filters -H 'Content-Type: application/javascript' --data-binary "@$JS"
route() { # id plugins
    admin PUT "/v1/routes/$1" -H 'Content-Type: application/json' -d "{\"paths\": [\"/$1/**\"], \"strip_prefix\": \"/$1\",
        \"upstream\": {\"targets\": [{\"url\": \"http://127.0.0.1:$UP_PORT\"}]}, \"plugins\": $2}"
}
CONF='{"experiment": "checkout", "percent_b": 50, "sticky_header": "X-Session-Id"}'
route plain '[]'
route java "[{\"name\": \"ab-tagger\", \"config\": $CONF}]"
route js "[{\"name\": \"ab-tagger-js\", \"config\": $CONF}]"
for r in plain java js; do
    curl -fs -H 'X-Session-Id: u1' "http://127.0.0.1:$SLUICE_PORT/$r/1k.txt" | wc -c | grep -q 1024 \
        || { echo "bench: route $r does not proxy"; cat "$OUT/sluice.log"; exit 1; }
done
curl -fsi -H 'X-Session-Id: user-2' "http://127.0.0.1:$SLUICE_PORT/js/1k.txt" | grep -qi '^x-ab-variant: B' \
    || { echo "bench: the JS filter does not tag"; exit 1; }

echo "bench: warming up each route $((WARMUP / 3)) s"
for r in plain java js; do
    wrk_run "http://127.0.0.1:$SLUICE_PORT/$r/1k.txt" $((WARMUP / 3)) -H 'X-Session-Id: u1' >/dev/null
done
: > "$OUT/runs.txt"
for i in $(seq 1 "$RUNS"); do
    for r in plain java js; do
        echo "$r $(wrk_run "http://127.0.0.1:$SLUICE_PORT/$r/1k.txt" "$DURATION" -H 'X-Session-Id: u1')" | tee -a "$OUT/runs.txt"
    done
done
col() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$OUT/runs.txt" | median; }
P=$(col plain 2); J=$(col java 2); S=$(col js 2)
{
    echo "date: $(date -u +%FT%TZ)  runs: $RUNS x ${DURATION}s  conns: $CONNS  warm-up: ${WARMUP}s  filter: ab-tagger (jar) vs ab-tagger-js"
    echo "median RPS: no-filter $P  java-filter $J  js-filter $S"
    awk -v p="$P" -v j="$J" -v s="$S" 'BEGIN { printf "ratios: js/java %.3f  java/no-filter %.3f  js/no-filter %.3f\n", s/j, j/p, s/p }'
    echo "p50/p99 ms (median): no-filter $(col plain 3)/$(col plain 4)  java $(col java 3)/$(col java 4)  js $(col js 3)/$(col js 4)"
    echo "CPU us per request of Sluice (median): no-filter $(col plain 5)  java $(col java 5)  js $(col js 5)"
    echo "failed responses (non-2xx/3xx + socket errors) in the measured runs: $(awk '{n+=$6} END {print n+0}' "$OUT/runs.txt")"
} | tee "$OUT/summary.txt"
