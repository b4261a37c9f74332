#!/usr/bin/env bash
# Control plane at seed scale (issue 15): 2,000 routes (half with key-auth + rate-limit) and 50,000 consumers with
# one API key each, imported into a control plane (PostgreSQL + Redis) followed by 3 data-plane processes, all
# started with bin/sluice and its defaults (SLUICE_HEAP 1g; the collector bin/sluice picks). Then, ROUNDS times:
#   keys       OPS API-key creations (POST /v1/consumers/{id}/api-keys) after WARMUP_OPS, one after the other:
#              p50/p99/max as the client sees them; store growth per key (PostgreSQL, before/after the phase)
#   put        OPS route PUTs (an existing route's rate-limit config changes) after WARMUP_OPS
#   propagate  PROP_CHANGES new routes, one at a time: from the PUT's response until each data plane serves the
#              route (its proxy polled every 2 ms until 200 from the upstream); each data plane's
#              sluice_config_apply_seconds{kind="changes"} from its /metrics
# then 100 simulated subscribers (ConfigFollower instances in one JVM, see SeedScale.java) for ROUNDS x
# SUB_CHANGES changes; heap after a full GC (jcmd GC.run) and RSS of each node; then a standalone node (embedded
# H2 store) with the same import, ROUNDS x (keys, put) and its store file's growth.
# Every phase records each core's busy % and the CPU seconds of each process. Raw output: runtime/bench/out-seed/.
#
#   runtime/bench/seedscale.sh                     # defaults: ROUNDS=3 OPS=200 WARMUP_OPS=50 PROP_CHANGES=100
#   ROUNDS=1 OPS=50 SUBS=10 runtime/bench/seedscale.sh   # a quick check
#   PROFILE=1 runtime/bench/seedscale.sh           # + JFR of the control plane and data plane 1 over the rounds
# Needs: PostgreSQL at 127.0.0.1:5432 (user postgres; the script creates and drops database $DB), Redis at
# REDIS_URL, python3, curl, jcmd (the JDK's). Targets 127.0.0.1 only; stops what it started.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/../.." && pwd)"
. "$ROOT/bin/jdk.sh"
sluice_use_jdk
OUT="$HERE/out-seed"
. "$HERE/lib.sh"

ROUTES=${ROUTES:-2000}
CONSUMERS=${CONSUMERS:-50000}
ROUNDS=${ROUNDS:-3}
OPS=${OPS:-200}
WARMUP_OPS=${WARMUP_OPS:-50}
PROP_CHANGES=${PROP_CHANGES:-100}
SUBS=${SUBS:-100}
SUB_STORES=${SUB_STORES:-1}       # store (connection pool of 4) shared by the simulated subscribers: 1 = all share one
SUB_CHANGES=${SUB_CHANGES:-50}
STANDALONE=${STANDALONE:-1}
UP_PORT=${UP_PORT:-19041}
CP_ADMIN=${CP_ADMIN:-19042}
DP_PROXY=(19043 19045 19047)
DP_ADMIN=(19044 19046 19048)
SA_PROXY=${SA_PROXY:-19049}
SA_ADMIN=${SA_ADMIN:-19050}
DB=${DB:-sluice_bench}
PG_URL="jdbc:postgresql://127.0.0.1:5432/$DB?user=postgres"
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379}
TOKEN=seed-bench-admin-token-0123456789abcdef
export SLUICE_ADMIN_TOKEN=$TOKEN

rm -rf "$OUT"; mkdir -p "$OUT"
for tool in python3 curl psql jcmd; do
    command -v "$tool" >/dev/null || { echo "bench: $tool is missing" >&2; exit 1; }
done
psql_() { psql -X -q -h 127.0.0.1 -U postgres -v ON_ERROR_STOP=1 "$@"; }
redis_host=${REDIS_URL#*://}; redis_host=${redis_host%%/*}
(exec 3<>"/dev/tcp/${redis_host%%:*}/${redis_host##*:}") 2>/dev/null || { echo "bench: no Redis at $REDIS_URL" >&2; exit 1; }

# stop what we started (by PID), then drop the bench database, also on failure
seed_cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do
        for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$p" 2>/dev/null || true
    done
    psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1 || true
}
trap seed_cleanup EXIT
psql_ -d postgres -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" >/dev/null 2>&1
psql_ -d postgres -c "CREATE DATABASE $DB" >/dev/null

if [ ! -f "$ROOT/runtime/target/sluice-runtime.jar" ] || [ ! -f "$ROOT/runtime/target/test-classes/io/sluice/runtime/bench/SeedScale.class" ]; then
    (cd "$ROOT" && sluice_mvn -q -DskipTests install)
fi
(cd "$ROOT/runtime" && sluice_mvn -q dependency:build-classpath -Dmdep.includeScope=test -Dmdep.outputFile="$OUT/test.cp") > "$OUT/mvn.log" 2>&1
TCP="$ROOT/runtime/target/test-classes:$ROOT/runtime/target/classes:$(cat "$OUT/test.cp")"
driver() { "$JAVA_HOME/bin/java" -Dseed.upstream="http://127.0.0.1:$UP_PORT" -Dseed.routes="$ROUTES" -Dseed.consumers="$CONSUMERS" -cp "$TCP" io.sluice.runtime.bench.SeedScale "$@"; }
kv() { echo "$1" | tr ' ' '\n' | awk -F= -v k="$2" '$1==k {print $2; exit}'; }   # value of k=v in a line

# ---- CPU accounting: each core's busy %, and CPU seconds of each process group, per phase
core_ticks() { awk '/^cpu[0-9]/ {print $1, $2+$3+$4+$6+$7+$8, $2+$3+$4+$5+$6+$7+$8}' /proc/stat; }
ticks_of() { # pids... : utime+stime+cutime+cstime (exited children included: PostgreSQL backends, launchers)
    local t=0 p
    for p in "$@"; do [ -r "/proc/$p/stat" ] && t=$(( t + $(awk '{print $14+$15+$16+$17}' "/proc/$p/stat") )); done
    echo "$t"
}
groups() { # name=ticks ... for the processes of this run
    echo "cp=$(ticks_of ${CP_PID:-}) dp1=$(ticks_of ${DP_PIDS[0]:-}) dp2=$(ticks_of ${DP_PIDS[1]:-}) dp3=$(ticks_of ${DP_PIDS[2]:-})" \
        "sa=$(ticks_of ${SA_PID:-}) pg=$(ticks_of $(ps -C postgres -o pid=)) redis=$(ticks_of $(ps -C redis-server -o pid=))" \
        "upstream=$(ticks_of ${UP_PID:-}) tools=$(ticks_of $$)"
}
phase_begin() { P_CORES=$(core_ticks); P_GROUPS=$(groups); P_T0=$(date +%s.%N); }
phase_end() { # round phase -> a line in cpu.txt: wall s, each core busy %, each group's % of one core
    local cores groups_now t1
    cores=$(core_ticks); groups_now=$(groups); t1=$(date +%s.%N)
    {
        printf "%s %s wall_s=%.1f" "$1" "$2" "$(echo "$t1 - $P_T0" | bc -l)"
        paste <(echo "$P_CORES") <(echo "$cores") | awk '{printf " %s=%.0f%%", $1, 100 * ($5 - $2) / ($6 - $3)}'
        # "others": busy time of both cores not spent in the processes above (the other engineer's work, the kernel)
        paste <(echo "$P_GROUPS" | tr ' ' '\n') <(echo "$groups_now" | tr ' ' '\n') | tr '=' ' ' \
            | awk -v wall="$(echo "$t1 - $P_T0" | bc -l)" -v hz="$(getconf CLK_TCK)" \
                -v busy="$(paste <(echo "$P_CORES") <(echo "$cores") | awk '{s += $5 - $2} END {print s}')" \
                '{ d = ($4 - $2) / hz; sum += d; if (d > 0) printf " %s=%.0f%%", $1, 100 * d / wall }
                 END { printf " others=%.0f%%", 100 * (busy / hz - sum) / wall }'
        echo
    } | tee -a "$OUT/cpu.txt"
}

# ---- processes
python3 "$HERE/ok_upstream.py" "$UP_PORT" > "$OUT/upstream.log" 2>&1 &
UP_PID=$!; PIDS+=("$UP_PID")
start_node() { # name admin-port args... ; sets NODE_PID
    local name=$1 aport=$2; shift 2
    "$ROOT/bin/sluice" start --data-dir "$OUT/$name" --admin-port "$aport" "$@" > "$OUT/$name.log" 2>&1 &
    NODE_PID=$!; PIDS+=("$NODE_PID")
    for _ in $(seq 1 300); do
        curl -fs "http://127.0.0.1:$aport/health" >/dev/null 2>&1 && return 0
        kill -0 "$NODE_PID" 2>/dev/null || break
        sleep 0.2
    done
    echo "bench: $name did not start"; tail -30 "$OUT/$name.log"; exit 1
}
ready_version() { curl -fs "http://127.0.0.1:$1/ready" 2>/dev/null | grep -o '"version":[0-9]*' | cut -d: -f2 || true; }
pg_sizes() { # total of the config tables, every table, and the database, in bytes
    psql_ -d "$DB" -At -c "SELECT 'tables=' || sum(pg_total_relation_size(c.oid)) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r'" \
        -c "SELECT 'db=' || pg_database_size('$DB')" \
        -c "SELECT c.relname || '=' || pg_total_relation_size(c.oid) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY 1" | tr '\n' ' '
}

echo "bench: generating $ROUTES routes, $CONSUMERS consumers"
driver gen "$OUT/seed.json" "$OUT/keys.txt" "$ROUTES" "$CONSUMERS" "http://127.0.0.1:$UP_PORT" | tee "$OUT/gen.txt"

echo "bench: control plane and 3 data planes (bin/sluice and its defaults)"
start_node cp "$CP_ADMIN" --role control-plane --postgres "$PG_URL" --redis "$REDIS_URL"
CP_PID=$NODE_PID
DP_PIDS=()
for i in 0 1 2; do
    start_node "dp$((i + 1))" "${DP_ADMIN[$i]}" --role data-plane --postgres "$PG_URL" --redis "$REDIS_URL" \
        --proxy-host 127.0.0.1 --proxy-port "${DP_PROXY[$i]}"
    DP_PIDS+=("$NODE_PID")
done

echo "bench: importing"
phase_begin
IMPORT=$(driver import "http://127.0.0.1:$CP_ADMIN" "$TOKEN" "$OUT/seed.json")
t_import=$(date +%s.%N)
echo "$IMPORT" | tee -a "$OUT/runs.txt"
V=$(kv "$IMPORT" version)
ready_line="import_followed"
for i in 0 1 2; do
    for _ in $(seq 1 4000); do [ "$(ready_version "${DP_ADMIN[$i]}")" = "$V" ] && break; sleep 0.05; done
    [ "$(ready_version "${DP_ADMIN[$i]}")" = "$V" ] || { echo "bench: dp$((i + 1)) did not reach version $V"; tail -20 "$OUT/dp$((i + 1)).log"; exit 1; }
    ready_line+=" dp$((i + 1))_s=$(echo "$(date +%s.%N) - $t_import" | bc -l | xargs printf %.2f)"
done
echo "$ready_line" | tee -a "$OUT/runs.txt"
phase_end 0 import
echo "store after import: $(pg_sizes)" | tee -a "$OUT/runs.txt"

# the data planes serve the seed config: a route without plugins, one with key-auth (no key: 401, a seed key: 200)
KEY1=$(awk 'NR==1 {print $2}' "$OUT/keys.txt")
for i in 0 1 2; do
    p=${DP_PROXY[$i]}
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/svc-2/x")" = 200 ] || { echo "bench: dp$((i + 1)) does not proxy /svc-2"; exit 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$p/svc-$((ROUTES - 1))/x")" = 401 ] || { echo "bench: dp$((i + 1)) does not ask for a key"; exit 1; }
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY1" "http://127.0.0.1:$p/svc-$((ROUTES - 1))/x")" = 200 ] \
        || { echo "bench: dp$((i + 1)) refuses a seed key"; exit 1; }
done
echo "bench: the 3 data planes serve the seed config (no-plugin route 200; key-auth route 401 without a key, 200 with one)"

apply_metrics() { # round: each data plane's sluice_config_apply_seconds{kind="changes"} (window quantiles, max, count, sum)
    local i m
    for i in 0 1 2; do
        m=$(curl -fs "http://127.0.0.1:${DP_ADMIN[$i]}/metrics" | grep '^sluice_config_apply_seconds' | grep 'kind="changes"')
        echo "$m" > "$OUT/apply-dp$((i + 1))-round$1.txt"
        echo "apply round=$1 dp=$((i + 1)) $(echo "$m" | awk '
            /quantile="0.5"/ {p50=$2} /quantile="0.99"/ {p99=$2} /_max/ {mx=$2} /_count/ {c=$2} /_sum/ {s=$2}
            END {printf "p50_ms=%.2f p99_ms=%.2f max_ms=%.2f count=%d mean_ms=%.2f", p50*1000, p99*1000, mx*1000, c, (c ? s/c*1000 : 0)}')"
    done | tee -a "$OUT/runs.txt"
}

if [ "${PROFILE:-0}" = 1 ]; then   # JFR (profile settings) on the control plane and data plane 1 during the rounds
    jcmd "$CP_PID" JFR.start name=seed settings=profile filename="$OUT/cp-rounds.jfr" >/dev/null
    jcmd "${DP_PIDS[0]}" JFR.start name=seed settings=profile filename="$OUT/dp1-rounds.jfr" >/dev/null
fi
OFFSET=0
for r in $(seq 1 "$ROUNDS"); do
    echo "bench: round $r"
    before=$(pg_sizes)
    phase_begin
    line=$(driver latency "http://127.0.0.1:$CP_ADMIN" "$TOKEN" key "$WARMUP_OPS" "$OPS" "$OFFSET" "$OUT/key-round$r.txt")
    phase_end "$r" keys
    after=$(pg_sizes)
    echo "sizes round=$r before: $before" >> "$OUT/sizes.txt"
    echo "sizes round=$r after:  $after" >> "$OUT/sizes.txt"
    n=$((WARMUP_OPS + OPS))
    growth="tables_per_key_B=$(( ($(kv "$after" tables) - $(kv "$before" tables)) / n )) db_per_key_B=$(( ($(kv "$after" db) - $(kv "$before" db)) / n ))"
    echo "round=$r pg $line $growth" | tee -a "$OUT/runs.txt"
    phase_begin
    line=$(driver latency "http://127.0.0.1:$CP_ADMIN" "$TOKEN" put "$WARMUP_OPS" "$OPS" "$OFFSET" "$OUT/put-round$r.txt")
    phase_end "$r" put
    echo "round=$r pg $line" | tee -a "$OUT/runs.txt"
    OFFSET=$((OFFSET + n))
    phase_begin
    line=$(driver propagate "http://127.0.0.1:$CP_ADMIN" "$TOKEN" "$PROP_CHANGES" "prop$r" "$OUT/propagate-round$r.txt" "${DP_PROXY[@]}")
    phase_end "$r" propagate
    echo "round=$r $line" | tee -a "$OUT/runs.txt"
    apply_metrics "$r"
done

heap() { # name pid: heap used after a full GC (jcmd GC.run), and RSS
    jcmd "$2" GC.run >/dev/null
    sleep 1
    jcmd "$2" GC.heap_info > "$OUT/heap-$1.txt"
    echo "heap $1 $(awk '/garbage-first heap/ {gsub(",", ""); for (i = 1; i <= NF; i++) if ($i == "used") u = $(i + 1); else if ($i == "committed") t = $(i + 1)} END {printf "used_after_full_gc=%s committed=%s", u, t}' "$OUT/heap-$1.txt") rss=$(awk '/VmRSS/ {print $2 $3}' "/proc/$2/status")" | tee -a "$OUT/runs.txt"
}
if [ "${PROFILE:-0}" = 1 ]; then
    jcmd "$CP_PID" JFR.stop name=seed >/dev/null
    jcmd "${DP_PIDS[0]}" JFR.stop name=seed >/dev/null
fi
heap cp "$CP_PID"
for i in 0 1 2; do heap "dp$((i + 1))" "${DP_PIDS[$i]}"; done

if [ "$SUBS" -gt 0 ]; then
    echo "bench: $SUBS simulated subscribers"
    phase_begin
    "$JAVA_HOME/bin/java" -Xms3g -Xmx3g -XX:+UseG1GC -Dseed.upstream="http://127.0.0.1:$UP_PORT" -Dseed.routes="$ROUTES" -Dseed.consumers="$CONSUMERS" -cp "$TCP" io.sluice.runtime.bench.SeedScale \
        subscribers "$PG_URL" "$REDIS_URL" "http://127.0.0.1:$CP_ADMIN" "$TOKEN" "$SUBS" "$SUB_STORES" "$ROUNDS" "$SUB_CHANGES" \
        "$OUT/subs" "$OUT/subscribers" 2> "$OUT/subscribers.log" | tee -a "$OUT/runs.txt"
    phase_end all subscribers
fi

echo "bench: stopping the control plane and data planes"
for p in "$CP_PID" "${DP_PIDS[@]}"; do kill "$p"; done
for p in "$CP_PID" "${DP_PIDS[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
CP_PID=""; DP_PIDS=()

if [ "$STANDALONE" = 1 ]; then
    echo "bench: standalone node (embedded store)"
    start_node standalone "$SA_ADMIN" --proxy-host 127.0.0.1 --proxy-port "$SA_PROXY"
    SA_PID=$NODE_PID
    store="$OUT/standalone/store.mv.db"
    phase_begin
    line=$(driver import "http://127.0.0.1:$SA_ADMIN" "$TOKEN" "$OUT/seed.json")
    phase_end 0 sa-import
    sleep 2
    echo "standalone $line store_bytes=$(stat -c %s "$store")" | tee -a "$OUT/runs.txt"
    [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-API-Key: $KEY1" "http://127.0.0.1:$SA_PROXY/svc-1/x")" = 200 ] \
        || { echo "bench: the standalone node refuses a seed key"; exit 1; }
    OFFSET=0
    for r in $(seq 1 "$ROUNDS"); do
        b=$(stat -c %s "$store")
        phase_begin
        line=$(driver latency "http://127.0.0.1:$SA_ADMIN" "$TOKEN" key "$WARMUP_OPS" "$OPS" "$OFFSET" "$OUT/sa-key-round$r.txt")
        phase_end "$r" sa-keys
        sleep 2   # H2 writes its store file in the background
        a=$(stat -c %s "$store")
        echo "round=$r standalone $line store_before=$b store_after=$a store_per_key_B=$(( (a - b) / (WARMUP_OPS + OPS) ))" | tee -a "$OUT/runs.txt"
        phase_begin
        line=$(driver latency "http://127.0.0.1:$SA_ADMIN" "$TOKEN" put "$WARMUP_OPS" "$OPS" "$OFFSET" "$OUT/sa-put-round$r.txt")
        phase_end "$r" sa-put
        echo "round=$r standalone $line" | tee -a "$OUT/runs.txt"
        OFFSET=$((OFFSET + WARMUP_OPS + OPS))
    done
    heap standalone "$SA_PID"
fi

# ---- summary: medians over the rounds
med() { grep -E "$1" "$OUT/runs.txt" | while read -r l; do kv "$l" "$2"; done | median; }
medf() { # pattern field-after-word word: for lines like "propagate all n= p50= ..." take the k=v after a marker word
    grep -E "$1" "$OUT/runs.txt" | while read -r l; do echo "$l" | awk -v w="$2" -v k="$3" '{for (i = 1; i <= NF; i++) if ($i == w) {for (j = i + 1; j <= NF; j++) {split($j, a, "="); if (a[1] == k) {print a[2]; exit}}}}'; done | median
}
{
    echo "date: $(date -u +%FT%TZ)  rounds: $ROUNDS  ops: $OPS (+$WARMUP_OPS warm-up)  propagation changes: $PROP_CHANGES/round  subscribers: $SUBS x $SUB_CHANGES changes/round (stores: $SUB_STORES)"
    echo "$(cat "$OUT/gen.txt")"
    grep -E '^import|^import_followed|^store after' "$OUT/runs.txt"
    echo "control plane (PostgreSQL), medians of $ROUNDS rounds:"
    echo "  key creation  p50 $(med '^round=.* pg key ' p50) ms  p99 $(med '^round=.* pg key ' p99) ms  max $(med '^round=.* pg key ' max) ms"
    echo "  route PUT     p50 $(med '^round=.* pg put ' p50) ms  p99 $(med '^round=.* pg put ' p99) ms  max $(med '^round=.* pg put ' max) ms"
    echo "  store growth per key: tables $(med '^round=.* pg key ' tables_per_key_B) B  database $(med '^round=.* pg key ' db_per_key_B) B"
    echo "  propagation to 3 DPs (from the PUT's response): every DP p50 $(medf '^round=.* propagate' all p50) p99 $(medf '^round=.* propagate' all p99) max $(medf '^round=.* propagate' all max) ms;" \
        "last of 3 p50 $(medf '^round=.* propagate' last_of_3 p50) p99 $(medf '^round=.* propagate' last_of_3 p99) ms"
    for d in 1 2 3; do
        echo "    dp$d: propagation p50 $(medf '^round=.* propagate' "dp$d" p50) p99 $(medf '^round=.* propagate' "dp$d" p99) ms;" \
            "apply (window) p50 $(med "^apply .* dp=$d " p50_ms) p99 $(med "^apply .* dp=$d " p99_ms) max $(med "^apply .* dp=$d " max_ms) mean $(med "^apply .* dp=$d " mean_ms) ms"
    done
    if [ "$SUBS" -gt 0 ]; then
        echo "  $SUBS subscribers (from the commit): p50 $(medf '^subscribers round' from_commit p50) p99 $(medf '^subscribers round' from_commit p99) max $(medf '^subscribers round' from_commit max) ms;" \
            "from the PUT's response p99 $(medf '^subscribers round' from_response p99) ms; last of all p99 $(medf '^subscribers round' "last_of_$SUBS" p99) ms"
        grep '^subscribers started' "$OUT/runs.txt" | sed 's/^/  /'
    fi
    grep '^heap' "$OUT/runs.txt" | sed 's/^/  /'
    if [ "$STANDALONE" = 1 ]; then
        echo "standalone (embedded H2), medians of $ROUNDS rounds:"
        grep '^standalone import' "$OUT/runs.txt" | sed 's/^/  /'
        echo "  key creation  p50 $(med 'standalone key ' p50) ms  p99 $(med 'standalone key ' p99) ms  max $(med 'standalone key ' max) ms  store file per key $(med 'standalone key ' store_per_key_B) B"
        echo "  route PUT     p50 $(med 'standalone put ' p50) ms  p99 $(med 'standalone put ' p99) ms  max $(med 'standalone put ' max) ms"
    fi
    echo "CPU per phase (each core's busy %, each process group's % of one core):"
    sed 's/^/  /' "$OUT/cpu.txt"
} | tee "$OUT/summary.txt"
