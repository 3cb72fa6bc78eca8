#!/usr/bin/env bash
# bench/sysbench.sh: sysbench's OLTP workloads against MariaDB directly and through
# each proxy (HAProxy 2.6 in TCP mode, the bench's byte relay, `tether gateway` with an
# unmanaged and with a managed keyspace), in rounds whose order rotates; prints per
# workload the median over the rounds of each path's QPS over direct's in the same
# round, the gateway over HAProxy, and each proxy process's CPU per query (issue 18).
#
#   bash bench/sysbench.sh
#
# Installs sysbench and haproxy from Debian when missing (apt-get; root or sudo).
# MariaDB: TETHER_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306/); creates and
# drops the database tether_bench_sysbench (sysbench's tables, which have no FKs).
# Knobs: BENCH_SECONDS (per run, 15), BENCH_ROUNDS (3; 0: paired rounds only), BENCH_TABLES (4),
# BENCH_TABLE_SIZE (20000), BENCH_WORKLOADS (default "oltp_point_select:4
# oltp_point_select:16 oltp_read_only:4 oltp_read_write:4", workload:threads),
# BENCH_PATHS (default "direct haproxy relay gateway managed"; direct is always run;
# also "gateway-t1": the unmanaged gateway with `--threads 1`, for the thread default),
# TETHER (the tether binary; default: the release build, built here), TETHER_BEFORE
# (another tether binary, e.g. an earlier commit's, run as the paths "before" and
# "managed-before" for a before/after table from the same run).
# BENCH_PAIRED=N (default 0): after the rotated rounds, N paired rounds per workload in
# which HAProxy and each other proxy path are driven AT THE SAME TIME by two sysbench
# processes of the same workload (the machine's state is the same for both: on a
# shared, noisy machine single runs drift by up to 2x); prints the median of each path's
# QPS over HAProxy's of the same moment.
# The rotated rounds also print counts per query that do not depend on the load (context
# switches, TCP segments, bytes; nstat from iproute2).
# Each proxy is a process of its own on a spare port; sysbench uses its default
# prepared statements (--db-ps-mode=auto). Everything started is stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

SECONDS_PER_RUN=${BENCH_SECONDS:-15}
ROUNDS=${BENCH_ROUNDS:-3}
TABLES=${BENCH_TABLES:-4}
TABLE_SIZE=${BENCH_TABLE_SIZE:-20000}
WORKLOADS=${BENCH_WORKLOADS:-oltp_point_select:4 oltp_point_select:16 oltp_read_only:4 oltp_read_write:4}
PATHS=${BENCH_PATHS:-direct haproxy relay gateway managed}
DB=tether_bench_sysbench
URL=${TETHER_TEST_MYSQL_URL:-mysql://root@127.0.0.1:3306/}

# mysql://USER[:PASSWORD]@HOST[:PORT][/...]
rest=${URL#mysql://}
rest=${rest%%/*}
userinfo=${rest%@*}
hostport=${rest##*@}
MY_USER=${userinfo%%:*}
MY_PASS=""
[[ $userinfo == *:* ]] && MY_PASS=${userinfo#*:}
MY_HOST=${hostport%%:*}
MY_PORT=3306
[[ $hostport == *:* ]] && MY_PORT=${hostport##*:}

log() { printf 'bench/sysbench.sh: %s\n' "$*" >&2; }

# --- tools -------------------------------------------------------------------------
missing=()
command -v sysbench >/dev/null || missing+=(sysbench)
command -v haproxy >/dev/null || [ -x /usr/sbin/haproxy ] || missing+=(haproxy)
[ -x /usr/bin/time ] || missing+=(time)
if [ ${#missing[@]} -gt 0 ]; then
    SUDO=()
    [ "$(id -u)" -ne 0 ] && SUDO=(sudo)
    log "installing ${missing[*]} from Debian"
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq "${missing[@]}" >/dev/null
fi
HAPROXY=$(command -v haproxy || echo /usr/sbin/haproxy)

# One cargo invocation for both (apart, `-p tether-gateway` alone would unify
# features differently and rebuild tokio and the rest).
RELAY_BIN="${CARGO_TARGET_DIR:-target}/release/examples/gateway_bench"
if [ -z "${TETHER:-}" ] || [ ! -x "$RELAY_BIN" ]; then
    cargo build --quiet --release --locked -p tether-cli -p tether-gateway --bin tether --example gateway_bench
fi
TETHER=${TETHER:-${CARGO_TARGET_DIR:-target}/release/tether}

# --- state and cleanup -------------------------------------------------------------
WORK=$(mktemp -d)
export NSTAT_HISTORY=$WORK/nstat.history # nstat's own, not the user's
PIDS=()
DB_CREATED=0
mysql_admin() {
    MYSQL_PWD="$MY_PASS" mariadb -h "$MY_HOST" -P "$MY_PORT" -u "$MY_USER" --protocol=tcp -N -B "$@"
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    if [ "$DB_CREATED" = 1 ]; then
        mysql_admin -e "DROP DATABASE IF EXISTS $DB" || log "could not drop $DB"
    fi
    rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

spare_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() { # PORT NAME PID
    local i
    for i in $(seq 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || { log "$2 exited (log: $WORK/$2.log)"; cat "$WORK/$2.log" >&2; exit 1; }
        sleep 0.1
    done
    log "$2 did not listen on port $1"
    exit 1
}

# utime + stime of a process (all its threads), in clock ticks.
cpu_ticks() {
    local stat
    stat=$(cat "/proc/$1/stat")
    stat=${stat##*) }
    # shellcheck disable=SC2086
    set -- $stat
    echo $(( ${12} + ${13} ))
}
TICK_US=$(( 1000000 / $(getconf CLK_TCK) ))
# Counts that do not depend on the machine's load (a noisy VM moves QPS and CPU by up
# to 2x between runs, not these): context switches of the whole machine
# (/proc/stat ctxt), TCP segments sent and IP bytes received (nstat, loopback
# included), and the proxy's own voluntary context switches (all its threads).
ctxt() { awk '/^ctxt/ { print $2 }' /proc/stat; }
nstat_delta() { # prints "segments octets" since the last call
    command -v nstat >/dev/null || { echo "0 0"; return; }
    nstat -z TcpOutSegs IpExtInOctets 2>/dev/null |
        awk '$1 == "TcpOutSegs" { s = $2 } $1 == "IpExtInOctets" { o = $2 } END { print s + 0, o + 0 }'
}
voluntary_switches() { # all threads of a process
    cat /proc/"$1"/task/*/status 2>/dev/null | awk '/^voluntary_ctxt_switches/ { n += $2 } END { print n + 0 }'
}
# The MariaDB server's process when it runs on this machine (its CPU per query is
# printed too), else empty.
SERVER_PID=$(ss -Hltnp "sport = :$MY_PORT" 2>/dev/null | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2)
[ -r "/proc/${SERVER_PID:-0}/stat" ] || SERVER_PID=""

# --- database ----------------------------------------------------------------------
if [ "$(mysql_admin -e "SHOW DATABASES LIKE '$DB'")" = "$DB" ]; then
    log "database $DB exists already (another run?); drop it first"
    exit 1
fi
mysql_admin -e "CREATE DATABASE $DB"
DB_CREATED=1
SB_COMMON=(--db-driver=mysql --mysql-db="$DB" --tables="$TABLES" --table-size="$TABLE_SIZE")
log "preparing $TABLES tables x $TABLE_SIZE rows"
sysbench oltp_read_write "${SB_COMMON[@]}" --mysql-host="$MY_HOST" --mysql-port="$MY_PORT" \
    --mysql-user="$MY_USER" --mysql-password="$MY_PASS" prepare >"$WORK/prepare.log"

# --- proxies -----------------------------------------------------------------------
declare -A PORT PID LOGIN SECRET
PORT[direct]=$MY_PORT; LOGIN[direct]=$MY_USER; SECRET[direct]=$MY_PASS; PID[direct]=""

start_haproxy() {
    local port
    port=$(spare_port)
    cat >"$WORK/haproxy.cfg" <<EOF
global
    maxconn 1000
defaults
    mode tcp
    timeout connect 5s
    timeout client 1h
    timeout server 1h
listen mariadb
    bind 127.0.0.1:$port
    server mariadb $MY_HOST:$MY_PORT
EOF
    "$HAPROXY" -f "$WORK/haproxy.cfg" -db >"$WORK/haproxy.log" 2>&1 &
    PIDS+=($!)
    PID[haproxy]=$!; PORT[haproxy]=$port; LOGIN[haproxy]=$MY_USER; SECRET[haproxy]=$MY_PASS
    wait_port "$port" haproxy "$!"
}

start_relay() {
    local port
    port=$(spare_port)
    TETHER_TEST_MYSQL_URL="$URL" "$RELAY_BIN" relay "$port" >"$WORK/relay.log" 2>&1 &
    PIDS+=($!)
    PID[relay]=$!; PORT[relay]=$port; LOGIN[relay]=$MY_USER; SECRET[relay]=$MY_PASS
    wait_port "$port" relay "$!"
}

start_gateway() { # NAME MODE [BINARY [EXTRA ARGUMENTS...]]
    local port backend bin=${3:-$TETHER}
    port=$(spare_port)
    backend="mysql://$MY_USER${MY_PASS:+:$MY_PASS}@$MY_HOST:$MY_PORT/$DB"
    cat >"$WORK/$1.json" <<EOF
{
  "listen": "127.0.0.1:$port",
  "users": [{"user": "bench", "password": "bench"}],
  "keyspaces": {
    "$DB": {"foreignKeyMode": "$2", "backend": {"url": "$backend"}}
  }
}
EOF
    "$bin" gateway --config "$WORK/$1.json" "${@:4}" >"$WORK/$1.log" 2>&1 &
    PIDS+=($!)
    PID[$1]=$!; PORT[$1]=$port; LOGIN[$1]=bench; SECRET[$1]=bench
    wait_port "$port" "$1" "$!"
}

ACTIVE=(direct)
for p in $PATHS; do
    case $p in
        direct) ;;
        haproxy) start_haproxy; ACTIVE+=(haproxy) ;;
        relay) start_relay; ACTIVE+=(relay) ;;
        gateway) start_gateway gateway unmanaged; ACTIVE+=(gateway) ;;
        gateway-t1) start_gateway gateway-t1 unmanaged "$TETHER" --threads 1; ACTIVE+=(gateway-t1) ;;
        managed) start_gateway managed managed; ACTIVE+=(managed) ;;
        before | managed-before)
            [ -x "${TETHER_BEFORE:-}" ] || { log "path $p needs TETHER_BEFORE (a tether binary)"; exit 2; }
            mode=unmanaged
            [ "$p" = managed-before ] && mode=managed
            start_gateway "$p" "$mode" "$TETHER_BEFORE"; ACTIVE+=("$p") ;;
        *) log "unknown path $p (BENCH_PATHS: direct haproxy relay gateway gateway-t1 managed before managed-before)"; exit 2 ;;
    esac
done
for p in "${ACTIVE[@]}"; do
    [ "$p" = direct ] || log "$p: pid ${PID[$p]}, port ${PORT[$p]}"
done

# --- runs --------------------------------------------------------------------------
# One run: appends "workload threads round path qps queries cpu_ticks" to results.
# The server's and sysbench's CPU are counted too: on a 2-core machine all three share
# the cores, so a proxy that makes the server or the client work harder costs QPS.
run() { # WORKLOAD THREADS ROUND PATH
    local out before=0 after=0 server_before=0 server_after=0 queries qps client pid=${PID[$4]}
    local switches_before switches_after proxy_switches_before=0 proxy_switches_after=0 segments octets
    [ -n "$pid" ] && before=$(cpu_ticks "$pid") && proxy_switches_before=$(voluntary_switches "$pid")
    nstat_delta >/dev/null
    switches_before=$(ctxt)
    [ -n "$SERVER_PID" ] && server_before=$(cpu_ticks "$SERVER_PID")
    out=$(/usr/bin/time -f '%U %S' -o "$WORK/client-cpu" \
        sysbench "$1" "${SB_COMMON[@]}" --threads="$2" --time="$SECONDS_PER_RUN" \
        --mysql-host=127.0.0.1 --mysql-port="${PORT[$4]}" \
        --mysql-user="${LOGIN[$4]}" --mysql-password="${SECRET[$4]}" run 2>&1) || {
        log "sysbench $1 --threads=$2 through $4 failed:"
        echo "$out" >&2
        exit 1
    }
    switches_after=$(ctxt)
    read -r segments octets < <(nstat_delta)
    [ -n "$pid" ] && after=$(cpu_ticks "$pid") && proxy_switches_after=$(voluntary_switches "$pid")
    [ -n "$SERVER_PID" ] && server_after=$(cpu_ticks "$SERVER_PID")
    # seconds -> clock ticks, like the others
    client=$(awk -v hz="$(getconf CLK_TCK)" '{ printf "%d", ($1 + $2) * hz }' "$WORK/client-cpu")
    read -r queries qps < <(echo "$out" | awk '/^ *queries:/ { gsub(/[()]/, ""); print $2, $3 }')
    echo "$1 $2 $3 $4 $qps $queries $((after - before)) $((server_after - server_before)) $client \
        $((switches_after - switches_before)) $segments $octets $((proxy_switches_after - proxy_switches_before))" >>"$WORK/results"
    log "$1 x$2 round $3 $4: $qps qps"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "warming up"
sysbench oltp_read_only "${SB_COMMON[@]}" --threads=4 --time=3 --mysql-host="$MY_HOST" \
    --mysql-port="$MY_PORT" --mysql-user="$MY_USER" --mysql-password="$MY_PASS" run >/dev/null

for wl in $WORKLOADS; do
    name=${wl%%:*}
    threads=${wl##*:}
    for round in $(seq "$ROUNDS"); do
        n=${#ACTIVE[@]}
        for k in $(seq 0 $((n - 1))); do
            run "$name" "$threads" "$round" "${ACTIVE[$(( (round + k) % n ))]}"
        done
    done
done

# --- paired rounds: HAProxy and one other path at the same moment ------------------
PAIRED=${BENCH_PAIRED:-0}
paired() { # WORKLOAD THREADS ROUND PATH
    local a b qa qb pids=()
    a=$(mktemp -p "$WORK") b=$(mktemp -p "$WORK")
    for p in haproxy "$4"; do
        local out=$a
        [ "$p" = haproxy ] || out=$b
        sysbench "$1" "${SB_COMMON[@]}" --threads="$2" --time="$SECONDS_PER_RUN" \
            --mysql-host=127.0.0.1 --mysql-port="${PORT[$p]}" --mysql-ignore-errors=1213 \
            --mysql-user="${LOGIN[$p]}" --mysql-password="${SECRET[$p]}" run >"$out" 2>&1 &
        pids+=($!)
    done
    wait "${pids[@]}" || true # (a failure shows as a missing figure below)
    qa=$(awk '/^ *queries:/ { gsub(/[()]/, ""); print $3 }' "$a")
    qb=$(awk '/^ *queries:/ { gsub(/[()]/, ""); print $3 }' "$b")
    [ -n "$qa" ] && [ -n "$qb" ] || { log "paired $1 x$2 with $4 failed:"; cat "$a" "$b" >&2; exit 1; }
    echo "$1 $2 $3 $4 $qa $qb" >>"$WORK/paired"
    log "$1 x$2 paired round $3: HAProxy $qa qps, $4 $qb qps"
}
if [ "$PAIRED" -gt 0 ] && [[ " ${ACTIVE[*]} " == *" haproxy "* ]]; then
    for wl in $WORKLOADS; do
        for round in $(seq "$PAIRED"); do
            for p in "${ACTIVE[@]}"; do
                case $p in direct | haproxy) ;; *) paired "${wl%%:*}" "${wl##*:}" "$round" "$p" ;; esac
            done
        done
    done
fi

# --- table -------------------------------------------------------------------------
echo
echo "sysbench $(sysbench --version | awk '{print $2}'), MariaDB $(mysql_admin -e 'SELECT VERSION()'), \
$TABLES tables x $TABLE_SIZE rows, $SECONDS_PER_RUN s per run, $ROUNDS rounds (order rotated), $(date -u '+%Y-%m-%d %H:%M') UTC, \
load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
[ -s "$WORK/results" ] && python3 - "$WORK/results" "$TICK_US" "${ACTIVE[@]}" <<'EOF'
import statistics, sys
path_file, tick_us, paths = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
runs = {}  # (workload, threads) -> round -> path -> (qps, queries, ticks)
for line in open(path_file):
    wl, th, rnd, path, qps, queries, ticks, server, client, switches, segments, octets, own = line.split()
    runs.setdefault((wl, int(th)), {}).setdefault(int(rnd), {})[path] = (
        float(qps), int(queries), int(ticks), int(server), int(client),
        int(switches), int(segments), int(octets), int(own))
names = {"haproxy": "HAProxy", "relay": "byte relay", "gateway": "gateway unmanaged", "managed": "gateway managed",
         "gateway-t1": "gateway unmanaged --threads 1",
         "before": "gateway unmanaged (before)", "managed-before": "gateway managed (before)"}
proxies = [p for p in paths if p != "direct"]
gws = [p for p in ("before", "gateway", "gateway-t1", "managed-before", "managed") if p in proxies]
head = ["workload", "direct QPS"] + [f"{names[p]} / direct" for p in proxies]
if "haproxy" in proxies:
    head += [f"{names[g]} / HAProxy" for g in gws]
head += [f"CPU us/query {names[p]}" for p in proxies]
head += [f"server + client CPU us/query {'direct' if p == 'direct' else names[p]}" for p in paths]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
def med(values):
    return statistics.median(values)
for (wl, th), rounds in runs.items():
    rs = list(rounds.values())
    row = [f"{wl}, {th} threads", f"{med(r['direct'][0] for r in rs):,.0f}"]
    row += [f"{med(r[p][0] / r['direct'][0] for r in rs):.2f}" for p in proxies]
    if "haproxy" in proxies:
        row += [f"**{med(r[g][0] / r['haproxy'][0] for r in rs):.2f}**" for g in gws]
    row += [f"{med(r[p][2] * tick_us / max(r[p][1], 1) for r in rs):.1f}" for p in proxies]
    row += [f"{med(r[p][3] * tick_us / max(r[p][1], 1) for r in rs):.1f} + "
            f"{med(r[p][4] * tick_us / max(r[p][1], 1) for r in rs):.1f}" for p in paths]
    print("| " + " | ".join(row) + " |")
print()
print("Per query, counts that do not depend on the load (medians over the rounds): context switches")
print("of the whole machine, TCP segments sent, IP bytes received (loopback: every hop counted), and")
print("the proxy's own voluntary context switches:")
head = ["workload"] + [f"{'direct' if p == 'direct' else names[p]}: switches / segments / bytes"
                       + ("" if p == "direct" else " / own switches") for p in paths]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for (wl, th), rounds in runs.items():
    rs = list(rounds.values())
    row = [f"{wl}, {th} threads"]
    for p in paths:
        def per(i):
            return med(r[p][i] / max(r[p][1], 1) for r in rs)
        cell = f"{per(5):.2f} / {per(6):.2f} / {per(7):.0f}"
        if p != "direct":
            cell += f" / {per(8):.2f}"
        row.append(cell)
    print("| " + " | ".join(row) + " |")
EOF
if [ -s "$WORK/paired" ]; then
    echo
    echo "Paired rounds ($PAIRED per workload): HAProxy and each path driven at the same moment by two"
    echo "sysbench processes of the workload; median (min-max) of the path's QPS over HAProxy's:"
    python3 - "$WORK/paired" <<'EOF2'
import statistics, sys
names = {"relay": "byte relay", "gateway": "gateway unmanaged", "managed": "gateway managed",
         "gateway-t1": "gateway unmanaged --threads 1",
         "before": "gateway unmanaged (before)", "managed-before": "gateway managed (before)"}
ratios = {}  # (workload, threads) -> path -> [ratio]
for line in open(sys.argv[1]):
    wl, th, rnd, path, qa, qb = line.split()
    ratios.setdefault((wl, int(th)), {}).setdefault(path, []).append(float(qb) / float(qa))
paths = list(dict.fromkeys(p for per in ratios.values() for p in per))
print("| workload | " + " | ".join(f"{names.get(p, p)} / HAProxy" for p in paths) + " |")
print("|" + "---|" * (len(paths) + 1))
for (wl, th), per in ratios.items():
    cells = [f"**{statistics.median(per[p]):.2f}** ({min(per[p]):.2f}-{max(per[p]):.2f})" for p in paths]
    print(f"| {wl}, {th} threads | " + " | ".join(cells) + " |")
EOF2
fi
