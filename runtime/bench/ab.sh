#!/usr/bin/env bash
# A/B benchmark for a noisy machine: two Sluice processes that differ only in JVM options (A_OPTS, B_OPTS, given to
# bin/sluice as SLUICE_JAVA_OPTS; everything else is bin/sluice's defaults) and the nginx reverse proxy as the
# reference, measured in alternating rounds, so that the machine's drift (this one's speed changed 2x within an hour)
# falls on both sides alike. Each round: nginx, A and B on the no-plugin route, A and B on the chain route
# (key-auth + rate-limit (policy redis) + transform), and with JS=1 (the default) A and B on a route running the
# sample JavaScript filter ab-tagger-js alone (uploaded through the admin API). Compare the CPU µs per request column (each process's own CPU
# over the requests it served) between A and B of the same round; RESULTS.md quotes medians over rounds.
#
# Layout as run.sh: nginx proxy and both Sluice processes on CPU 0 (one is measured at a time; the other idles),
# the upstream (nginx, 1 KiB, keep-alive), wrk and an OTLP sink (nginx answering 200, for tracing options) on CPU 1.
#
#   A_OPTS="-Dsluice.readAhead.off=true" B_OPTS="" runtime/bench/ab.sh        # ReadAhead off / on
#   A_OPTS="" B_OPTS="-Dotel.traces.exporter=otlp -Dotel.exporter.otlp.traces.endpoint=http://127.0.0.1:19027/v1/traces
#       -Dotel.traces.sampler=parentbased_traceidratio -Dotel.traces.sampler.arg=0.1" runtime/bench/ab.sh   # tracing
#   A_OPTS="" B_OPTS="-Dsluice.js.inline=true" runtime/bench/ab.sh         # JavaScript on workers (default) / on request threads
#   defaults: RUNS=4 DURATION=15 WARMUP=60 CONNS=64 JS=1
# Prints one line per measurement: "name rps p50_ms p99_ms cpu_us_per_request failed cpu0_busy% cpu1_busy% bytes/req",
# then the medians. Needs what run.sh needs, and Redis at REDIS_URL. Targets 127.0.0.1 only; stops what it started.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$ROOT/bin/jdk.sh"
. "$HERE/lib.sh"
sluice_use_jdk

RUNS=${RUNS:-4}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-60}
CONNS=${CONNS:-64}
A_OPTS=${A_OPTS:-}
B_OPTS=${B_OPTS:-}
JS=${JS:-1}
TOKEN=bench-admin-token-0123456789abcdef
JS_FILTER="$ROOT/sample-plugins/js-filters/src/main/js/ab-tagger.js"
UP_PORT=19031 NGX_PORT=19032 A_PORT=19033 A_ADMIN=19034 B_PORT=19035 B_ADMIN=19036 OTLP_PORT=19027
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
BENCH_KEY=sk_bench_0123456789abcdef0123456789abcdef
OUT="$HERE/out-ab"
rm -rf "$OUT"
mkdir -p "$OUT"
for tool in nginx wrk taskset curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx-light wrk util-linux curl)" >&2; exit 1; }
done
redis_host=${REDIS_URL#*://}; redis_host=${redis_host%%/*}
(exec 3<>"/dev/tcp/${redis_host%%:*}/${redis_host##*:}") 2>/dev/null \
    || { echo "bench: no Redis at $REDIS_URL (start redis-server)" >&2; exit 1; }

head -c 1024 /dev/zero | tr '\0' 'x' > "$OUT/1k.txt"
nginx_conf "$OUT/nginx-up" "$UP_PORT" "server { listen 127.0.0.1:$UP_PORT; location / { root $OUT; } }"
nginx_conf "$OUT/nginx-proxy" "$NGX_PORT" "upstream up { server 127.0.0.1:$UP_PORT; keepalive 256; }
    server { listen 127.0.0.1:$NGX_PORT; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
nginx_conf "$OUT/nginx-otlp" "$OTLP_PORT" "server { listen 127.0.0.1:$OTLP_PORT; location / { return 200; } }"
taskset -c 1 nginx -c "$OUT/nginx-up/nginx.conf" -p "$OUT/nginx-up"
taskset -c 1 nginx -c "$OUT/nginx-otlp/nginx.conf" -p "$OUT/nginx-otlp"
taskset -c 0 nginx -c "$OUT/nginx-proxy/nginx.conf" -p "$OUT/nginx-proxy"

cat > "$OUT/sluice.yaml" <<CONF
routes:
  - id: bench
    paths: ["/**"]
    upstream:
      targets: [{url: "http://127.0.0.1:$UP_PORT"}]
  - id: chain
    paths: ["/chain/**"]
    strip_prefix: /chain
    upstream:
      targets: [{url: "http://127.0.0.1:$UP_PORT"}]
    plugins:
      - name: key-auth
      - name: rate-limit
        config: {rate: 100000000, by: consumer, policy: redis, redis_url: "$REDIS_URL"}
      - name: transform
        config:
          request: {headers: {set: {X-Bench: "1"}}}
          response: {headers: {remove: [Server]}}
consumers:
  - id: bench
    api_keys: [{id: k1, hash: "sha256:$(printf %s "$BENCH_KEY" | sha256sum | cut -d' ' -f1)"}]
CONF
# bin/sluice builds the runtime when its sources changed (about a minute): before the start-up waits, not in them
"$ROOT/bin/sluice" help >/dev/null
start() { # name proxy-port admin-port jvm-options
    SLUICE_ADMIN_TOKEN=$TOKEN SLUICE_JAVA_OPTS="$4" taskset -c 0 "$ROOT/bin/sluice" start --config "$OUT/sluice.yaml" --data-dir "$OUT/data-$1" \
        --proxy-host 127.0.0.1 --proxy-port "$2" --admin-port "$3" > "$OUT/sluice-$1.log" 2>&1 &
    PIDS+=("$!")
    eval "PID_$1=$!"
    # both nodes share core 0: the second starts while the first compiles, which can take well over 30 s
    local ready=""
    for _ in $(seq 1 600); do
        curl -fs "http://127.0.0.1:$3/ready" >/dev/null 2>&1 && { ready=1; break; }
        sleep 0.2
    done
    [ -n "$ready" ] || { echo "bench: Sluice $1 was not ready within 120 s"; cat "$OUT/sluice-$1.log"; exit 1; }
    curl -fs "http://127.0.0.1:$2/1k.txt" | wc -c | grep -q 1024 || { echo "bench: Sluice $1 does not proxy"; cat "$OUT/sluice-$1.log"; exit 1; }
    curl -fs -H "X-API-Key: $BENCH_KEY" "http://127.0.0.1:$2/chain/1k.txt" | wc -c | grep -q 1024 \
        || { echo "bench: Sluice $1's chain route does not proxy"; cat "$OUT/sluice-$1.log"; exit 1; }
    if [ "$JS" = 1 ]; then
        local auth="Authorization: Bearer $TOKEN"
        curl -fsS -H "$auth" -H 'Content-Type: application/javascript' --data-binary "@$JS_FILTER" \
            "http://127.0.0.1:$3/v1/filters" >/dev/null
        curl -fsS -X PUT -H "$auth" -H 'Content-Type: application/json' "http://127.0.0.1:$3/v1/routes/js" -d "{
            \"paths\": [\"/js/**\"], \"strip_prefix\": \"/js\", \"upstream\": {\"targets\": [{\"url\": \"http://127.0.0.1:$UP_PORT\"}]},
            \"plugins\": [{\"name\": \"ab-tagger-js\", \"config\": {\"experiment\": \"checkout\", \"percent_b\": 50}}]}" >/dev/null
        curl -fsi "http://127.0.0.1:$2/js/1k.txt" | grep -qi '^x-ab-variant:' \
            || { echo "bench: Sluice $1's JavaScript route does not run its filter"; cat "$OUT/sluice-$1.log"; exit 1; }
    fi
}
start A "$A_PORT" "$A_ADMIN" "$A_OPTS"
start B "$B_PORT" "$B_ADMIN" "$B_OPTS"
measure() { # A|B path seconds
    local port admin pid
    if [ "$1" = A ]; then port=$A_PORT admin=$A_ADMIN pid=$PID_A; else port=$B_PORT admin=$B_ADMIN pid=$PID_B; fi
    SLUICE_PORT=$port ADMIN_PORT=$admin SLUICE_PID=$pid wrk_run "http://127.0.0.1:$port/$2" "$3" -H "X-API-Key: $BENCH_KEY"
}
echo "bench: warming up A and B, ${WARMUP} s each on the no-plugin route and $((WARMUP / 3)) s on the chain"
for s in A B; do
    measure "$s" 1k.txt "$WARMUP" >/dev/null
    measure "$s" chain/1k.txt $((WARMUP / 3)) >/dev/null
    if [ "$JS" = 1 ]; then measure "$s" js/1k.txt $((WARMUP / 3)) >/dev/null; fi
done
: > "$OUT/runs.txt"
for i in $(seq 1 "$RUNS"); do
    echo "nginx $(SLUICE_PORT=none SLUICE_PID= ADMIN_PORT= wrk_run "http://127.0.0.1:$NGX_PORT/1k.txt" "$DURATION")" | tee -a "$OUT/runs.txt"
    for s in A B; do echo "$s $(measure "$s" 1k.txt "$DURATION")" | tee -a "$OUT/runs.txt"; done
    for s in A B; do echo "${s}-chain $(measure "$s" chain/1k.txt "$DURATION")" | tee -a "$OUT/runs.txt"; done
    if [ "$JS" = 1 ]; then
        for s in A B; do echo "${s}-js $(measure "$s" js/1k.txt "$DURATION")" | tee -a "$OUT/runs.txt"; done
    fi
done
col() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$OUT/runs.txt" | median; }
{
    echo "date: $(date -u +%FT%TZ)  runs: $RUNS x ${DURATION}s  conns: $CONNS  warm-up: ${WARMUP}s"
    echo "A_OPTS: ${A_OPTS:-(none)}"
    echo "B_OPTS: ${B_OPTS:-(none)}"
    for n in nginx A B A-chain B-chain A-js B-js; do
        grep -q "^$n " "$OUT/runs.txt" || continue
        echo "$n: median RPS $(col "$n" 2)  p50/p99 ms $(col "$n" 3)/$(col "$n" 4)  CPU us/request $(col "$n" 5)  busy CPU0/CPU1 $(col "$n" 7)%/$(col "$n" 8)%  bytes/req $(col "$n" 9)"
    done
    echo "per round, CPU us/request B/A: no-plugin $(awk '$1=="A" {a=$5} $1=="B" {printf "%.3f ", $5/a}' "$OUT/runs.txt") chain $(awk '$1=="A-chain" {a=$5} $1=="B-chain" {printf "%.3f ", $5/a}' "$OUT/runs.txt") js $(awk '$1=="A-js" {a=$5} $1=="B-js" {printf "%.3f ", $5/a}' "$OUT/runs.txt")"
    if [ "$JS" = 1 ]; then   # where the JavaScript filter ran, over the whole run (warm-up included)
        for s in A B; do
            port=$A_ADMIN; [ "$s" = B ] && port=$B_ADMIN
            echo "$s JavaScript invocations: $(curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$port/metrics" \
                | awk -F'[{}" ]+' '/^sluice_js_invocations_total\{/ {printf "%s %s ", $3, $4}')"
        done
    fi
    echo "per round, by CPU nginx/B: $(awk '$1=="nginx" {n=$5} $1=="B" {printf "%.3f ", n/$5}' "$OUT/runs.txt")  nginx/A: $(awk '$1=="nginx" {n=$5} $1=="A" {printf "%.3f ", n/$5}' "$OUT/runs.txt")"
} | tee "$OUT/summary.txt"
