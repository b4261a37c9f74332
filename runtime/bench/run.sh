#!/usr/bin/env bash
# Proxy throughput benchmark: direct upstream vs nginx reverse proxy vs Sluice, in one run.
#
# Layout (2 cores): the proxy under test (nginx or Sluice) alone on CPU 0 (Sluice also gets
# -XX:ActiveProcessorCount=1); the upstream (nginx, 1 KiB static file, keep-alive) and wrk on CPU 1.
# Every target is measured RUNS times, alternating, after a warm-up; RESULTS.md quotes medians.
# Then p50/p99 at half of Sluice's median max RPS, through Sluice and direct, at a fixed rate (h2load --rps).
# "chain" is a second Sluice route running key-auth + rate-limit (policy redis) + transform, measured in the
# same rounds, so its RPS is a ratio of the no-plugin route ("sluice") in the same run. It needs Redis at
# REDIS_URL (default redis://127.0.0.1:6379); CHAIN=0 skips it.
#
#   runtime/bench/run.sh                 # defaults: RUNS=3 DURATION=20 WARMUP=60 CONNS=64
#   RUNS=5 DURATION=30 runtime/bench/run.sh
# Needs: nginx, wrk and h2load (apt-get install nginx-light wrk nghttp2-client), taskset (util-linux). Targets 127.0.0.1 only.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$ROOT/bin/jdk.sh"
. "$HERE/lib.sh"
sluice_use_jdk

RUNS=${RUNS:-3}
DURATION=${DURATION:-20}
WARMUP=${WARMUP:-60}
CONNS=${CONNS:-64}
UP_PORT=${UP_PORT:-19001}
NGX_PORT=${NGX_PORT:-19002}
SLUICE_PORT=${SLUICE_PORT:-19003}
ADMIN_PORT=${ADMIN_PORT:-19004}
CHAIN=${CHAIN:-1}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
BENCH_KEY=sk_bench_0123456789abcdef0123456789abcdef
OUT="$HERE/out"
mkdir -p "$OUT"
rm -rf "$OUT"/nginx-*
for tool in nginx wrk taskset h2load; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx-light wrk nghttp2-client util-linux)" >&2; exit 1; }
done

head -c 1024 /dev/zero | tr '\0' 'x' > "$OUT/1k.txt"
nginx_conf "$OUT/nginx-up" "$UP_PORT" "server { listen 127.0.0.1:$UP_PORT; location / { root $OUT; } }"
nginx_conf "$OUT/nginx-proxy" "$NGX_PORT" "upstream up { server 127.0.0.1:$UP_PORT; keepalive 256; }
    server { listen 127.0.0.1:$NGX_PORT; location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
taskset -c 1 nginx -c "$OUT/nginx-up/nginx.conf" -p "$OUT/nginx-up"
taskset -c 0 nginx -c "$OUT/nginx-proxy/nginx.conf" -p "$OUT/nginx-proxy"

cat > "$OUT/sluice.yaml" <<CONF
routes:
  - id: bench
    paths: ["/**"]
    upstream:
      targets: [{url: "http://127.0.0.1:$UP_PORT"}]
CONF
if [ "$CHAIN" = 1 ]; then
    redis_host=${REDIS_URL#*://}; redis_host=${redis_host%%/*}
    (exec 3<>"/dev/tcp/${redis_host%%:*}/${redis_host##*:}") 2>/dev/null \
        || { echo "bench: no Redis at $REDIS_URL (start redis-server, or CHAIN=0)" >&2; exit 1; }
    cat >> "$OUT/sluice.yaml" <<CONF
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
fi
if [ ! -f "$ROOT/runtime/target/sluice-runtime.jar" ]; then
    (cd "$ROOT" && sluice_mvn -q -DskipTests install)
fi
# bin/sluice builds the runtime when its sources changed (about a minute): before the start-up wait, not in it
"$ROOT/bin/sluice" help >/dev/null
if [ -n "${BENCH_JVM_OPTS:-}" ]; then
    # a hand-tuned command line, for experiments (the sections before 2026-12-01 used
    # BENCH_JVM_OPTS="-XX:+UseParallelGC -Xms512m -Xmx512m" with -XX:ActiveProcessorCount=1)
    taskset -c 0 "$JAVA_HOME/bin/java" -XX:ActiveProcessorCount=1 $BENCH_JVM_OPTS \
        -jar "$ROOT/runtime/target/sluice-runtime.jar" start --config "$OUT/sluice.yaml" \
        --proxy-host 127.0.0.1 --proxy-port "$SLUICE_PORT" --admin-port "$ADMIN_PORT" > "$OUT/sluice.log" 2>&1 &
else
    # what users run: bin/sluice and its defaults (heap, GC, access log to stdout), pinned to CPU 0
    rm -rf "$OUT/sluice-data"
    # BENCH_SLUICE_ARGS: more options for bin/sluice start (e.g. --access-log off, to measure what the default costs)
    taskset -c 0 "$ROOT/bin/sluice" start --config "$OUT/sluice.yaml" --data-dir "$OUT/sluice-data" \
        --proxy-host 127.0.0.1 --proxy-port "$SLUICE_PORT" --admin-port "$ADMIN_PORT" ${BENCH_SLUICE_ARGS:-} \
        > "$OUT/sluice.log" 2>&1 &
fi
SLUICE_PID=$!
PIDS+=("$SLUICE_PID")
for _ in $(seq 1 100); do
    curl -fs "http://127.0.0.1:$ADMIN_PORT/ready" >/dev/null 2>&1 && break
    sleep 0.2
done
curl -fs "http://127.0.0.1:$SLUICE_PORT/1k.txt" | wc -c | grep -q 1024 || { echo "bench: Sluice does not proxy"; cat "$OUT/sluice.log"; exit 1; }

echo "bench: warming up nginx proxy 10 s and Sluice ${WARMUP} s"
wrk_run "http://127.0.0.1:$NGX_PORT/1k.txt" 10 >/dev/null
wrk_run "http://127.0.0.1:$SLUICE_PORT/1k.txt" "$WARMUP" >/dev/null
# then until Sluice's throughput is flat: two 10 s runs in a row within 3% of each other (at most 8 more), because a
# JVM still compiling during the measured rounds climbed from round to round
plateau="" prev=0
for i in $(seq 1 8); do
    r=$(wrk_run "http://127.0.0.1:$SLUICE_PORT/1k.txt" 10 | cut -d' ' -f1)
    plateau="$plateau ${r%.*}"
    if awk -v a="$prev" -v b="$r" 'BEGIN { exit !(a > 0 && (b - a) / a < 0.03 && (a - b) / a < 0.03) }'; then
        break
    fi
    prev=$r
done
echo "bench: Sluice's warm-up runs after ${WARMUP} s (RPS):$plateau"
if [ "$CHAIN" = 1 ]; then
    curl -fs -H "X-API-Key: $BENCH_KEY" "http://127.0.0.1:$SLUICE_PORT/chain/1k.txt" | wc -c | grep -q 1024 \
        || { echo "bench: the chain route does not proxy"; cat "$OUT/sluice.log"; exit 1; }
    wrk_run "http://127.0.0.1:$SLUICE_PORT/chain/1k.txt" 20 -H "X-API-Key: $BENCH_KEY" >/dev/null
fi

: > "$OUT/runs.txt"
for i in $(seq 1 "$RUNS"); do
    for target in direct:$UP_PORT nginx:$NGX_PORT sluice:$SLUICE_PORT; do
        name=${target%%:*}; port=${target##*:}
        r=$(wrk_run "http://127.0.0.1:$port/1k.txt" "$DURATION")
        echo "$name $r" | tee -a "$OUT/runs.txt"
    done
    if [ "$CHAIN" = 1 ]; then
        r=$(wrk_run "http://127.0.0.1:$SLUICE_PORT/chain/1k.txt" "$DURATION" -H "X-API-Key: $BENCH_KEY")
        echo "chain $r" | tee -a "$OUT/runs.txt"
    fi
done
# connection reuse: Sluice's established connections to the upstream, and how many it opened in all
up_conns=$(ss -tanp state established "( dport = :$UP_PORT )" | grep -c "pid=$SLUICE_PID," || true)

col() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$OUT/runs.txt" | median; }
D=$(col direct 2); N=$(col nginx 2); S=$(col sluice 2)
half=$(awk -v s="$S" 'BEGIN { printf "%d", s/2 }')
# latency at half of Sluice's median max RPS, at a fixed rate (h2load --rps; see lib.sh rate_run), through Sluice
# and direct to the upstream: the added p99 is the difference
lat_s=$(rate_run "http://127.0.0.1:$SLUICE_PORT/1k.txt" "$half" "$DURATION")
lat_d=$(rate_run "http://127.0.0.1:$UP_PORT/1k.txt" "$half" "$DURATION")
{
    echo "date: $(date -u +%FT%TZ)  runs: $RUNS x ${DURATION}s  conns: 64  warm-up: ${WARMUP}s, then 10 s runs until flat:$plateau"
    echo "median RPS: direct $D  nginx-proxy $N  sluice $S"
    awk -v s="$S" -v n="$N" -v d="$D" 'BEGIN { printf "ratios: sluice/nginx-proxy %.3f  sluice/direct %.3f  nginx-proxy/direct %.3f\n", s/n, s/d, n/d }'
    echo "p50/p99 ms at max load (median): direct $(col direct 3)/$(col direct 4)  nginx $(col nginx 3)/$(col nginx 4)  sluice $(col sluice 3)/$(col sluice 4)"
    echo "CPU us per request of the server under test (median): upstream-nginx $(col direct 5)  nginx-proxy $(col nginx 5)  sluice $(col sluice 5)"
    echo "busy % of CPU 0 (proxy under test) / CPU 1 (wrk + upstream), median: direct $(col direct 7)/$(col direct 8)  nginx-proxy $(col nginx 7)/$(col nginx 8)  sluice $(col sluice 7)/$(col sluice 8)"
    echo "bytes allocated per request by Sluice (median): $(col sluice 9)$([ "$CHAIN" = 1 ] && echo "  chain $(col chain 9)")"
    echo "fixed rate $half rps (h2load --rps, $CONNS conns) achieved-rps/p50/p99/p99.9 ms/non-2xx: sluice $lat_s ; direct $lat_d"
    if [ "$CHAIN" = 1 ]; then
        C=$(col chain 2)
        awk -v c="$C" -v s="$S" 'BEGIN { printf "chain key-auth+rate-limit(redis)+transform: median RPS %s, chain/no-plugin %.3f\n", c, c/s }'
        echo "chain p50/p99 ms (median): $(col chain 3)/$(col chain 4)  CPU us per request of Sluice: $(col chain 5)"
    fi
    awk -v a="$lat_s" -v b="$lat_d" 'BEGIN { split(a,x," "); split(b,y," "); printf "added p99 at half load (fixed rate): %.3f ms\n", x[3]-y[3] }'
    echo "Sluice's open connections to the upstream after the runs: $up_conns"
} | tee "$OUT/summary.txt"
