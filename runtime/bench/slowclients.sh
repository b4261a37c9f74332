#!/usr/bin/env bash
# Slow-client attack: Debian's slowhttptest against `bin/sluice start` with its defaults (settings.clients not
# set), while a legitimate client (runtime/bench/legit_client.py, from 127.0.0.2 so the per-address limit that
# bounds the attacker does not also refuse it) sends one GET every 50 ms on a new connection.
#   phase 1  before: the legitimate client alone, BEFORE seconds
#   phase 2  slowloris: 1,000 connections, a header every 20 s, ATTACK seconds (-H -c 1000 -i 20 -r 200 -l ATTACK)
#   phase 3  slow body: 1,000 connections, 10 body bytes every 20 s (-B ...)
# Each phase prints the legitimate client's requests, errors, p50/p99/max, and slowhttptest's own summary.
#   runtime/bench/slowclients.sh                 # defaults: BEFORE=20 ATTACK=60
# Needs: slowhttptest, nginx, python3. Targets 127.0.0.1 only; stops what it started.
set -euo pipefail
export PATH="$PATH:/usr/sbin"
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
BEFORE=${BEFORE:-20}
ATTACK=${ATTACK:-60}
UP_PORT=${UP_PORT:-19031}
SLUICE_PORT=${SLUICE_PORT:-19033}
ADMIN_PORT=${ADMIN_PORT:-19034}
OUT="$HERE/out-slow"
rm -rf "$OUT"; mkdir -p "$OUT"
for tool in slowhttptest nginx python3 curl; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing (apt-get install slowhttptest nginx-light python3 curl)" >&2; exit 1; }
done
. "$HERE/lib.sh"

head -c 1024 /dev/zero | tr '\0' 'x' > "$OUT/1k.txt"
nginx_conf "$OUT/nginx-up" "$UP_PORT" "server { listen 127.0.0.1:$UP_PORT; location / { root $OUT; try_files /1k.txt =404; } }"
nginx -c "$OUT/nginx-up/nginx.conf"

cat > "$OUT/sluice.yaml" <<YAML
routes:
  - id: r
    paths: ["/**"]
    methods: [GET, POST]
    upstream: {targets: [{url: "http://127.0.0.1:$UP_PORT"}]}
YAML
SLUICE_ADMIN_TOKEN=bench "$ROOT/bin/sluice" start --config "$OUT/sluice.yaml" --data-dir "$OUT/data" \
    --proxy-port "$SLUICE_PORT" --admin-port "$ADMIN_PORT" > "$OUT/sluice.log" 2>&1 &
SLUICE_PID=$!
PIDS+=("$SLUICE_PID")
for _ in $(seq 1 120); do curl -fs "127.0.0.1:$ADMIN_PORT/ready" >/dev/null && break; sleep 0.5; done
python3 "$HERE/legit_client.py" "$SLUICE_PORT" 10 >/dev/null   # warm-up

# per phase: each core's busy % (from /proc/stat) and the gateway's CPU seconds, to show what was saturated
core_ticks() { awk '/^cpu[0-9]/ {print $1, $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
phase_start() { CORES0=$(core_ticks); SL0=$(cpu_ticks "$SLUICE_PID"); T0=$(date +%s.%N); }
phase_end() {
    local cores1 sl1 t1
    cores1=$(core_ticks); sl1=$(cpu_ticks "$SLUICE_PID"); t1=$(date +%s.%N)
    paste <(echo "$CORES0") <(echo "$cores1") | awk '{printf "   %s busy %.0f%%\n", $1, 100 * ($5 - $2) / ($6 - $3)}'
    awk -v a="$SL0" -v b="$sl1" -v t0="$T0" -v t1="$t1" -v hz="$(getconf CLK_TCK)" \
        'BEGIN { printf "   sluice CPU %.1f s in %.0f s (%.0f%% of one core)\n", (b - a) / hz, t1 - t0, 100 * (b - a) / hz / (t1 - t0) }'
}

echo "== before (legitimate client alone, ${BEFORE} s)"
phase_start
python3 "$HERE/legit_client.py" "$SLUICE_PORT" "$BEFORE"
phase_end

attack() { # name flags...
    local name=$1; shift
    echo "== during $name (1,000 connections, ${ATTACK} s)"
    slowhttptest "$@" -c 1000 -i 20 -r 200 -l "$ATTACK" -u "http://127.0.0.1:$SLUICE_PORT/x" -p 3 \
        -g -o "$OUT/$name" > "$OUT/$name.txt" 2>&1 &
    local sp=$!
    PIDS+=("$sp")
    sleep 2   # the attack opens 200 connections a second
    # measured while the attack runs: it ends when the gateway has closed all its connections, or after ATTACK s
    phase_start
    python3 "$HERE/legit_client.py" "$SLUICE_PORT" "$ATTACK" "$sp"
    phase_end
    wait "$sp" || true
    echo "   slowhttptest per second (seconds,closed,pending,connected,service_available):"
    sed -n '2,$p' "$OUT/$name.csv" | sed 's/^/     /'
}
attack slowloris -H
attack slowbody -B -s 8192
echo "== gateway counters"
curl -s "127.0.0.1:$ADMIN_PORT/metrics" | grep -E '^sluice_edge' || true
echo "== after (legitimate client alone, ${BEFORE} s)"
phase_start
python3 "$HERE/legit_client.py" "$SLUICE_PORT" "$BEFORE"
phase_end
