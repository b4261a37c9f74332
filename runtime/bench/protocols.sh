#!/usr/bin/env bash
# HTTPS and HTTP/2 against nginx, same certificate, same upstream, one run: keep-alive HTTPS, new TLS handshakes
# per second (a connection per request), and HTTP/2 with h2load (8 connections x 8 streams). Sluice runs as users
# run it (bin/sluice and its defaults, access log included; --tls-port with the default certificate; BENCH_SLUICE_ARGS
# adds options), pinned to CPU 0 like the nginx
# proxy; wrk/h2load and the upstream nginx share CPU 1. Results: runtime/bench/RESULTS.md.
#   RUNS=3 DURATION=15 WARMUP=120 runtime/bench/protocols.sh
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$ROOT/bin/jdk.sh"
. "$HERE/lib.sh"
sluice_use_jdk

RUNS=${RUNS:-3}
DURATION=${DURATION:-15}
WARMUP=${WARMUP:-120}
CONNS=${CONNS:-64}
UP_PORT=${UP_PORT:-19101}
NGX_PORT=${NGX_PORT:-19102}
SLUICE_PORT=${SLUICE_PORT:-19103}
SLUICE_PLAIN=${SLUICE_PLAIN:-19105}
ADMIN_PORT=${ADMIN_PORT:-19104}
OUT="$HERE/out-protocols"
mkdir -p "$OUT"
rm -rf "$OUT"/nginx-*
for tool in nginx wrk h2load openssl taskset; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install nginx-light wrk nghttp2-client openssl util-linux)" >&2; exit 1; }
done

head -c 1024 /dev/zero | tr '\0' 'x' > "$OUT/1k.txt"
# one EC P-256 certificate for both proxies (what a modern deployment serves)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$OUT/key.pem" -out "$OUT/cert.pem" \
    -subj /CN=localhost -addext subjectAltName=DNS:localhost,IP:127.0.0.1 -days 2 2>/dev/null
nginx_conf "$OUT/nginx-up" "$UP_PORT" "server { listen 127.0.0.1:$UP_PORT; location / { root $OUT; } }"
nginx_conf "$OUT/nginx-proxy" "$NGX_PORT" "upstream up { server 127.0.0.1:$UP_PORT; keepalive 256; }
    server { listen 127.0.0.1:$NGX_PORT ssl http2;
             ssl_certificate $OUT/cert.pem; ssl_certificate_key $OUT/key.pem;
             ssl_protocols TLSv1.2 TLSv1.3; ssl_session_cache off; ssl_session_tickets off;
             location / { proxy_pass http://up; proxy_http_version 1.1; proxy_set_header Connection \"\"; } }"
taskset -c 1 nginx -c "$OUT/nginx-up/nginx.conf" -p "$OUT/nginx-up"
taskset -c 0 nginx -c "$OUT/nginx-proxy/nginx.conf" -p "$OUT/nginx-proxy"

cat > "$OUT/sluice.yaml" <<CONF
routes:
  - id: bench
    paths: ["/**"]
    upstream:
      targets: [{url: "http://127.0.0.1:$UP_PORT"}]
CONF
rm -rf "$OUT/sluice-data"
taskset -c 0 "$ROOT/bin/sluice" start --config "$OUT/sluice.yaml" --data-dir "$OUT/sluice-data" \
    --proxy-host 127.0.0.1 --proxy-port "$SLUICE_PLAIN" --admin-port "$ADMIN_PORT" ${BENCH_SLUICE_ARGS:-} \
    --tls-port "$SLUICE_PORT" --tls-cert "$OUT/cert.pem" --tls-key "$OUT/key.pem" > "$OUT/sluice.log" 2>&1 &
SLUICE_PID=$!
PIDS+=("$SLUICE_PID")
for _ in $(seq 1 600); do   # bin/sluice builds first when the sources changed
    curl -fs "http://127.0.0.1:$ADMIN_PORT/ready" >/dev/null 2>&1 && break
    kill -0 "$SLUICE_PID" 2>/dev/null || { echo "bench: Sluice exited"; cat "$OUT/sluice.log"; exit 1; }
    sleep 0.5
done
for port in $NGX_PORT $SLUICE_PORT; do
    curl -fsk --http2 "https://127.0.0.1:$port/1k.txt" | wc -c | grep -q 1024 \
        || { echo "bench: https://127.0.0.1:$port does not proxy"; cat "$OUT/sluice.log"; exit 1; }
done

h2_run() { # url seconds -> "rps p50_ms(mean) p99_ms(max of means) cpu_us bad cpu0% cpu1%" for h2load -c8 -m8
    local url=$1 secs=$2 pids
    case "$url" in
        *":$SLUICE_PORT/"*) pids="$SLUICE_PID" ;;
        *) pids="$(cat "$OUT/nginx-proxy/nginx.pid")" ;;
    esac
    local before c0 c1 after
    before=$(cpu_ticks $pids); c0=$(core_ticks 0); c1=$(core_ticks 1)
    taskset -c 1 h2load -c8 -m8 -D "$secs" "$url" > "$OUT/h2load.txt" 2>&1 || true
    local b0 b1; b0=$(busy_pct "$c0" "$(core_ticks 0)"); b1=$(busy_pct "$c1" "$(core_ticks 1)")
    after=$(cpu_ticks $pids)
    local rps mean sd bad
    rps=$(awk '/^finished in/ {gsub(",", ""); print $4}' "$OUT/h2load.txt")
    mean=$(awk '$1=="time" && $2=="for" && $3=="request:" {print $5}' "$OUT/h2load.txt")
    bad=$(awk '/^requests:/ {gsub(",", ""); print $10 + $12}' "$OUT/h2load.txt")   # failed + errored
    local cpu
    cpu=$(awk -v t=$(( after - before )) -v hz="$(getconf CLK_TCK)" -v r="$rps" -v s="$secs" 'BEGIN { printf "%.1f", t / hz * 1e6 / (r * s) }')
    echo "$rps $(to_ms "$mean") - $cpu ${bad:-?} $b0 $b1"
}

echo "bench: warming up nginx 10 s and Sluice ${WARMUP} s keep-alive, $(( WARMUP / 2 )) s handshakes, $(( WARMUP / 2 )) s h2"
wrk_run "https://127.0.0.1:$NGX_PORT/1k.txt" 10 >/dev/null
wrk_run "https://127.0.0.1:$SLUICE_PORT/1k.txt" "$WARMUP" >/dev/null
# the JIT takes its time with the TLS paths: each kind of load gets its own warm-up (half of WARMUP)
wrk_run "https://127.0.0.1:$SLUICE_PORT/1k.txt" $(( WARMUP / 2 )) -H "Connection: close" >/dev/null
h2_run "https://127.0.0.1:$SLUICE_PORT/1k.txt" $(( WARMUP / 2 )) >/dev/null

: > "$OUT/runs.txt"
for i in $(seq 1 "$RUNS"); do
    for target in nginx:$NGX_PORT sluice:$SLUICE_PORT; do
        name=${target%%:*}; port=${target##*:}
        echo "$name-https $(wrk_run "https://127.0.0.1:$port/1k.txt" "$DURATION")" | tee -a "$OUT/runs.txt"
        echo "$name-handshake $(wrk_run "https://127.0.0.1:$port/1k.txt" "$DURATION" -H "Connection: close")" \
            | tee -a "$OUT/runs.txt"
        echo "$name-h2 $(h2_run "https://127.0.0.1:$port/1k.txt" "$DURATION")" | tee -a "$OUT/runs.txt"
    done
done

col() { awk -v n="$1" -v c="$2" '$1==n {print $c}' "$OUT/runs.txt" | median; }
{
    echo "date: $(date -u +%FT%TZ)  runs: $RUNS x ${DURATION}s  wrk -c$CONNS, h2load -c8 -m8  warm-up: ${WARMUP}s"
    for kind in https handshake h2; do
        N=$(col "nginx-$kind" 2); S=$(col "sluice-$kind" 2)
        awk -v k="$kind" -v s="$S" -v n="$N" 'BEGIN { printf "%-9s median RPS nginx %s  sluice %s  sluice/nginx %.3f\n", k, n, s, s/n }'
        echo "          p50 ms nginx $(col "nginx-$kind" 3)  sluice $(col "sluice-$kind" 3); p99 ms nginx $(col "nginx-$kind" 4)  sluice $(col "sluice-$kind" 4)"
        echo "          CPU us/request nginx $(col "nginx-$kind" 5)  sluice $(col "sluice-$kind" 5); busy CPU0/CPU1 nginx $(col "nginx-$kind" 7)/$(col "nginx-$kind" 8)  sluice $(col "sluice-$kind" 7)/$(col "sluice-$kind" 8); bad responses $(col "nginx-$kind" 6)/$(col "sluice-$kind" 6)"
    done
} | tee "$OUT/summary.txt"
