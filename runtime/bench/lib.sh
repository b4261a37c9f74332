# Sourced by the benchmark scripts: process cleanup, nginx configs, wrk runs with CPU accounting, medians.
# Expects OUT, CONNS, SLUICE_PORT, NGX_PORT, UP_PORT and (once Sluice runs) SLUICE_PID.

PIDS=()
cleanup() {
    local stopped=("${PIDS[@]}") d p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for d in "$OUT"/nginx-*; do
        [ -f "$d/nginx.pid" ] && { p=$(cat "$d/nginx.pid"); kill "$p" 2>/dev/null && stopped+=("$p"); }
    done
    # wait until they are gone (30 s at most): a benchmark started next must not find a node still shutting down on
    # its ports, answering /ready
    for p in "${stopped[@]}"; do
        for _ in $(seq 1 300); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    done
}
trap cleanup EXIT

nginx_conf() { # dir port body
    mkdir -p "$1/logs"
    cat > "$1/nginx.conf" <<CONF
worker_processes 1;
daemon on;
pid $1/nginx.pid;
error_log $1/logs/error.log warn;
events { worker_connections 4096; }
http {
    access_log off;
    keepalive_requests 100000000;
    keepalive_timeout 300s;
    client_body_temp_path $1/body;
    proxy_temp_path $1/proxy;
    fastcgi_temp_path $1/fastcgi;
    uwsgi_temp_path $1/uwsgi;
    scgi_temp_path $1/scgi;
    $3
}
CONF
}

cpu_ticks() { # total utime+stime (clock ticks) of the given pids and their children
    local total=0 p
    for p in "$@" $(for q in "$@"; do ps -o pid= --ppid "$q" 2>/dev/null; done); do
        [ -r "/proc/$p/stat" ] || continue
        total=$(( total + $(awk '{print $14 + $15}' "/proc/$p/stat") ))
    done
    echo "$total"
}

core_ticks() { # "busy total" clock ticks of one core (cpuN line of /proc/stat; idle and iowait are not busy)
    awk -v c="cpu$1" '$1==c { t=0; for (i=2; i<=NF; i++) t+=$i; print t-$5-$6, t }' /proc/stat
}

busy_pct() { # core "busy total" before, the same after -> busy % of that core in between
    awk -v b="$1" -v a="$2" 'BEGIN { split(b, x, " "); split(a, y, " "); d = y[2] - x[2]; p = 0; if (d > 0) p = 100 * (y[1] - x[1]) / d; printf "%.0f", p }'
}

allocated() { # bytes the Sluice JVM has allocated so far (Micrometer's jvm_gc_memory_allocated_bytes_total, counted
    # at each young collection), or nothing when there is no Sluice admin port to ask
    [ -n "${ADMIN_PORT:-}" ] || return 0
    curl -fs "http://127.0.0.1:$ADMIN_PORT/metrics" 2>/dev/null \
        | awk '/^jvm_gc_memory_allocated_bytes_total/ {printf "%.0f", $2}'
}

wrk_run() { # url seconds [extra args] -> "rps p50_ms p99_ms cpu_us_per_request failed_responses cpu0_busy% cpu1_busy% alloc_bytes_per_request"
    local url=$1 secs=$2; shift 2
    local pids=""
    case "$url" in
        *":$SLUICE_PORT/"*) pids="$SLUICE_PID" ;;
        *":$NGX_PORT/"*) pids="$(cat "$OUT/nginx-proxy/nginx.pid")" ;;
        *) pids="$(cat "$OUT/nginx-up/nginx.pid")" ;;
    esac
    local before after alloc0="" alloc1=""
    [ "$pids" = "${SLUICE_PID:-}" ] && alloc0=$(allocated)
    before=$(cpu_ticks $pids)
    local c0=$(core_ticks 0) c1=$(core_ticks 1)
    taskset -c 1 wrk -t1 -c"$CONNS" -d"${secs}s" --latency "$@" "$url" > "$OUT/wrk.txt"
    local busy0 busy1
    busy0=$(busy_pct "$c0" "$(core_ticks 0)")
    busy1=$(busy_pct "$c1" "$(core_ticks 1)")
    after=$(cpu_ticks $pids)
    [ -n "$alloc0" ] && alloc1=$(allocated)
    local rps p50 p99
    rps=$(awk '/Requests\/sec/ {print $2}' "$OUT/wrk.txt")
    p50=$(awk '$1=="50%" {print $2}' "$OUT/wrk.txt")
    p99=$(awk '$1=="99%" {print $2}' "$OUT/wrk.txt")
    # CPU time the server under test spent per request, in microseconds (clock ticks are 10 ms)
    local cpu
    cpu=$(awk -v t=$(( after - before )) -v hz="$(getconf CLK_TCK)" -v r="$rps" -v s="$secs" 'BEGIN { printf "%.1f", t / hz * 1e6 / (r * s) }')
    # responses that were not 2xx/3xx, and socket errors: a benchmark with either does not count
    local bad
    bad=$(awk '/Non-2xx or 3xx responses/ {n+=$5} /Socket errors/ {gsub(",", ""); n+=$4+$6+$8+$10} END {print n+0}' "$OUT/wrk.txt")
    # bytes allocated per request by Sluice (- for other servers; a JVM counts allocation at each young collection)
    local alloc="-"
    if [ -n "$alloc0" ] && [ -n "$alloc1" ]; then
        alloc=$(awk -v a="$alloc0" -v b="$alloc1" -v r="$rps" -v s="$secs" 'BEGIN { printf "%.0f", (b - a) / (r * s) }')
    fi
    echo "$rps $(to_ms "$p50") $(to_ms "$p99") $cpu $bad $busy0 $busy1 $alloc"
}
to_ms() { # wrk prints 812.00us / 1.20ms / 2.00s
    awk -v v="$1" 'BEGIN { n=v+0; if (v ~ /us$/) n/=1000; else if (v ~ /ms$/) n=n; else if (v ~ /s$/) n*=1000; printf "%.3f", n }'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }


rate_run() { # url rate_rps seconds [extra h2load args] -> "achieved_rps p50_ms p99_ms p999_ms non2xx"
    # Open-loop-style load at a fixed rate (issue 19.4): h2load over HTTP/1.1, CONNS connections each sending
    # rate/CONNS requests per second, whatever the answers' latency; every request's latency is logged
    # (--log-file) and the percentiles come from that log, not from a closed loop that slows when the server does.
    local url=$1 rate=$2 secs=$3; shift 3
    local per=$(( (rate + CONNS - 1) / CONNS ))
    [ "$per" -ge 1 ] || per=1
    rm -f "$OUT/h2load.log"
    taskset -c 1 h2load --h1 -c "$CONNS" -t 1 --rps "$per" -D "$secs" --warm-up-time 2 --log-file "$OUT/h2load.log" \
        "$@" "$url" > "$OUT/h2load.txt" 2>&1 || true
    sort -t$'\t' -k3,3n "$OUT/h2load.log" | awk -F'\t' -v secs="$secs" '
        { lat[NR] = $3; if ($2 < 200 || $2 >= 400) bad++ }
        END {
            if (NR == 0) { print "0 0 0 0 0"; exit }
            p50 = lat[int(NR * 0.50) > 0 ? int(NR * 0.50) : 1]; p99 = lat[int(NR * 0.99) > 0 ? int(NR * 0.99) : 1]
            p999 = lat[int(NR * 0.999) > 0 ? int(NR * 0.999) : 1]
            printf "%.0f %.3f %.3f %.3f %d\n", NR / secs, p50 / 1000, p99 / 1000, p999 / 1000, bad + 0
        }'
}
