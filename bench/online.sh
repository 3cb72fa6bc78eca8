#!/usr/bin/env bash
# bench/online.sh: an ALTER of a parent table with a large child (ON DELETE CASCADE)
# while a steady writer changes both, four ways on the same data (issue 15):
#
#   native               ALTER TABLE on MariaDB (its default algorithm)
#   rebuild_constraints  pt-online-schema-change --alter-foreign-keys-method=rebuild_constraints
#   drop_swap            pt-online-schema-change --alter-foreign-keys-method=drop_swap
#   tether               `tether gateway`, managed keyspace: SET @@ddl_strategy='online',
#                        the ALTER through the gateway, SHOW VITESS_MIGRATIONS until complete
#
#   bash bench/online.sh
#
# Prints per method: total time, its ratio to each pt-osc method, the writer's median
# and longest statement while the ALTER ran, failed writes, whether the child table
# was rebuilt (InnoDB TABLE_ID before/after), child row events in the binlog vs the
# child rows the writer changed (directly and by cascades; InnoDB's cascades never
# reach the binlog), the child's FK afterwards (name, referenced table), orphans, and
# whether both tables hold exactly the rows the writer's successful statements leave.
#
# Installs percona-toolkit from Debian when pt-online-schema-change is missing
# (apt-get; root or sudo). Starts a PRIVATE MariaDB (mariadbd from the system, its own
# datadir, port, socket and --tmpdir under a temporary directory; log_bin, ROW
# format), generates the data once with seq_1_to_N, keeps a copy of the stopped
# datadir and restores it before every method, so each starts from the same bytes.
# The writer (crates/tether-gateway/examples/online_writer.rs) connects directly for
# native and pt-osc, through the gateway for Tether, as users would.
#
# Knobs: BENCH_PARENTS (1000000), BENCH_CHILDREN (5000000), BENCH_WRITE_RATE (writer
# statements per second, 100), BENCH_DELETE_PARENTS (0: the writer's cascading
# parent deletes become child updates; default 1), BENCH_SETTLE (seconds the writer runs alone before and
# after the ALTER, 3), BENCH_METHODS (default "native rebuild_constraints drop_swap
# tether"), BENCH_BUFFER_POOL (innodb_buffer_pool_size, 2G), TETHER (the tether
# binary; default: the release build, built here), TETHER_BEFORE (another tether
# binary, e.g. an earlier commit's, run as the method "tether-before" for a
# before/after from the same run), BENCH_KEEP=1 (keep the work directory).
# Everything started is stopped on exit.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

PARENTS=${BENCH_PARENTS:-1000000}
CHILDREN=${BENCH_CHILDREN:-5000000}
RATE=${BENCH_WRITE_RATE:-100}
SETTLE=${BENCH_SETTLE:-3}
DELETE_PARENTS=${BENCH_DELETE_PARENTS:-1}
METHODS=${BENCH_METHODS:-native rebuild_constraints drop_swap tether}
BUFFER_POOL=${BENCH_BUFFER_POOL:-2G}
ALTER="ADD COLUMN tag VARCHAR(32) NOT NULL DEFAULT '', ADD INDEX v_idx (v)"
DB=bench

log() { printf 'bench/online.sh: %s\n' "$*" >&2; }
now_ms() { date +%s%3N; }

# --- tools -------------------------------------------------------------------------
if ! command -v pt-online-schema-change >/dev/null; then
    SUDO=()
    [ "$(id -u)" -ne 0 ] && SUDO=(sudo)
    log "installing percona-toolkit from Debian"
    "${SUDO[@]}" apt-get update -qq
    DEBIAN_FRONTEND=noninteractive "${SUDO[@]}" apt-get install -y -qq percona-toolkit >/dev/null
fi
# pt-online-schema-change 3.2.1 (Debian 12's) tells MariaDB from MySQL by
# @@version_comment alone, which Debian's MariaDB sets to "Debian 12": it takes
# MariaDB 10.11 for MySQL 10.11 >= 8.0 and refuses drop_swap (MySQL bug 89441, which
# MariaDB does not have). Its copy here also reads @@version ("...-MariaDB-...").
PT_OSC=$(command -v pt-online-schema-change)
MARIADBD=$(command -v mariadbd || echo /usr/sbin/mariadbd)
[ -x "$MARIADBD" ] || { log "mariadbd not found (Debian package mariadb-server)"; exit 1; }

WRITER="${CARGO_TARGET_DIR:-target}/release/examples/online_writer"
if [ -z "${TETHER:-}" ] || [ ! -x "$WRITER" ]; then
    cargo build --quiet --release --locked -p tether-cli -p tether-gateway --bin tether --example online_writer
fi
TETHER=${TETHER:-${CARGO_TARGET_DIR:-target}/release/tether}
if [[ " $METHODS " == *" tether-before "* ]] && [ ! -x "${TETHER_BEFORE:-}" ]; then
    log "method tether-before needs TETHER_BEFORE (a tether binary)"
    exit 2
fi

# --- state and cleanup -------------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tether-bench-online.XXXXXX")
DATA=$WORK/data
SNAPSHOT=$WORK/snapshot
SOCK=$WORK/mysqld.sock
SERVER_PID=""
PIDS=()
# PIDS: the writer and the gateway while they run (the server is SERVER_PID).
forget() { # PID: waited for already
    local keep=() p
    for p in "${PIDS[@]}"; do
        [ "$p" = "$1" ] || keep+=("$p")
    done
    PIDS=("${keep[@]}")
}
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
    for pid in "${PIDS[@]}"; do
        wait "$pid" 2>/dev/null || true
    done
    stop_server
    if [ "${BENCH_KEEP:-0}" = 1 ]; then
        log "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

spare_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
PORT=$(spare_port)

wait_port() { # PORT NAME PID
    local i
    for i in $(seq 300); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
            return 0
        fi
        kill -0 "$3" 2>/dev/null || { log "$2 exited (log: $WORK/$2.log)"; cat "$WORK/$2.log" >&2; exit 1; }
        sleep 0.1
    done
    log "$2 did not listen on port $1"
    exit 1
}

# The private server, as root over its socket.
sql() { mariadb --no-defaults --socket="$SOCK" -u root -N -B "$@"; }

start_server() {
    mkdir -p "$WORK/tmp"
    "$MARIADBD" --no-defaults --user=root --datadir="$DATA" --port="$PORT" \
        --bind-address=127.0.0.1 --socket="$SOCK" --tmpdir="$WORK/tmp" \
        --pid-file="$WORK/mysqld.pid" --log-error="$WORK/mysqld.log" --skip-name-resolve \
        --server-id=1 --log-bin=binlog --binlog-format=ROW --max-connections=200 \
        --innodb-buffer-pool-size="$BUFFER_POOL" --innodb-log-file-size=512M \
        --innodb-flush-log-at-trx-commit=2 --sync-binlog=0 &
    SERVER_PID=$!
    local i
    for i in $(seq 600); do
        sql -e 'SELECT 1' >/dev/null 2>&1 && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || { log "mariadbd exited:"; tail -20 "$WORK/mysqld.log" >&2; exit 1; }
        sleep 0.1
    done
    log "mariadbd did not start (log: $WORK/mysqld.log)"
    exit 1
}

stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    mariadb-admin --no-defaults --socket="$SOCK" -u root shutdown 2>/dev/null || kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# --- data --------------------------------------------------------------------------
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "work directory $WORK, private MariaDB on port $PORT"
sed 's/\$args{flavor} = delete \$query->{version_comment}$/$args{flavor} = (delete $query->{version_comment}) . " $query->{version}"/' \
    "$PT_OSC" >"$WORK/pt-online-schema-change"
chmod +x "$WORK/pt-online-schema-change"
PT_OSC=$WORK/pt-online-schema-change
mariadb-install-db --no-defaults --datadir="$DATA" --user=root \
    --auth-root-authentication-method=normal --skip-test-db >"$WORK/install.log" 2>&1 \
    || { cat "$WORK/install.log" >&2; exit 1; }
start_server
sql <<EOF
CREATE USER bench@'127.0.0.1' IDENTIFIED BY 'bench';
GRANT ALL ON *.* TO bench@'127.0.0.1' WITH GRANT OPTION;
CREATE DATABASE $DB;
USE $DB;
CREATE TABLE parent (
  id INT NOT NULL PRIMARY KEY,
  v INT NOT NULL,
  name VARCHAR(40) NOT NULL DEFAULT ''
) ENGINE=InnoDB;
CREATE TABLE child (
  id INT NOT NULL PRIMARY KEY,
  parent_id INT NOT NULL,
  v INT NOT NULL,
  note VARCHAR(40) DEFAULT NULL,
  KEY (parent_id),
  CONSTRAINT child_parent_fk FOREIGN KEY (parent_id) REFERENCES parent (id) ON DELETE CASCADE
) ENGINE=InnoDB;
EOF
log "generating $PARENTS parents and $CHILDREN children"
started=$(now_ms)
gen() { # TABLE TOTAL SELECT-TEMPLATE (@ = the row number), in 1,000,000-row statements
    local done=0 n
    while [ "$done" -lt "$2" ]; do
        n=$(( $2 - done < 1000000 ? $2 - done : 1000000 ))
        sql "$DB" -e "SET sql_log_bin = 0; SET foreign_key_checks = 0; SET unique_checks = 0;
            INSERT INTO $1 ${3//@/(seq + $done)} FROM seq_1_to_$n"
        done=$(( done + n ))
    done
}
gen parent "$PARENTS" "SELECT @, @ % 1000, CONCAT('parent ', @)"
gen child "$CHILDREN" "SELECT @, 1 + (@ % $PARENTS), @ % 997, CONCAT('child ', @)"
sql "$DB" -e "ANALYZE TABLE parent, child" >/dev/null
sql -e "RESET MASTER"
log "generated in $(( ($(now_ms) - started) / 1000 )) s; keeping a copy of the datadir"
stop_server
cp -a "$DATA" "$SNAPSHOT"

restore() {
    stop_server
    rm -rf "$DATA"
    cp -a "$SNAPSHOT" "$DATA"
    start_server
    # Warm the buffer pool alike for every method.
    sql "$DB" -e "SELECT COUNT(*), SUM(v) FROM parent; SELECT COUNT(*), SUM(v) FROM child;
        SELECT COUNT(*) FROM child FORCE INDEX (parent_id)" >/dev/null
}

# --- one method --------------------------------------------------------------------
GW_PORT=""
GW_PID=""
start_gateway() { # BINARY
    GW_PORT=$(spare_port)
    cat >"$WORK/gateway.json" <<EOF
{
  "listen": "127.0.0.1:$GW_PORT",
  "users": [{"user": "bench", "password": "bench"}],
  "keyspaces": {
    "$DB": {"foreignKeyMode": "managed", "backend": {"url": "mysql://bench:bench@127.0.0.1:$PORT/$DB"}}
  }
}
EOF
    "$1" gateway --config "$WORK/gateway.json" >>"$WORK/gateway.log" 2>&1 &
    GW_PID=$!
    PIDS+=("$GW_PID")
    wait_port "$GW_PORT" gateway "$GW_PID"
}
stop_gateway() {
    [ -n "$GW_PID" ] || return 0
    kill "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || true
    forget "$GW_PID"
    GW_PID=""
}

# Runs the ALTER one way; prints "<status> <detail>" (status ok or failed).
run_alter() { # METHOD
    case $1 in
        native)
            if sql "$DB" -e "ALTER TABLE parent $ALTER" >"$WORK/native.out" 2>&1; then
                echo "ok -"
            else
                echo "failed $(tr '\n\t' '  ' <"$WORK/native.out")"
            fi
            ;;
        rebuild_constraints | drop_swap)
            if "$PT_OSC" --no-version-check --recursion-method=none \
                --alter "$ALTER" --alter-foreign-keys-method="$1" --execute \
                "h=127.0.0.1,P=$PORT,u=bench,p=bench,D=$DB,t=parent" >"$WORK/$1.out" 2>&1; then
                echo "ok -"
            else
                echo "failed $(tail -3 "$WORK/$1.out" | tr '\n\t' '  ')"
            fi
            ;;
        tether | tether-before)
            local uuid row status
            uuid=$(mariadb --no-defaults -h 127.0.0.1 -P "$GW_PORT" -u bench -pbench -N -B "$DB" \
                -e "SET @@ddl_strategy = 'online'; ALTER TABLE parent $ALTER" 2>&1) \
                || { echo "failed $uuid"; return; }
            while :; do
                row=$(mariadb --no-defaults -h 127.0.0.1 -P "$GW_PORT" -u bench -pbench -N -B "$DB" \
                    -e "SHOW VITESS_MIGRATIONS LIKE '$uuid'" 2>&1) || { echo "failed $row"; return; }
                status=$(cut -f6 <<<"$row")
                case $status in
                    complete)
                        # Phases from the migration's own timestamps (columns 11-14).
                        local t s=() phases
                        for t in 11 12 13 14; do
                            s+=("$(date -d "$(cut -f$t <<<"$row")" +%s%3N)")
                        done
                        phases="shadow + copy + checks $(( s[2] - s[1] )) ms, cut-over + orphan check $(( s[3] - s[2] )) ms"
                        echo "ok $(cut -f16 <<<"$row"); $phases"
                        return ;;
                    failed | cancelled) echo "failed $(cut -f16 <<<"$row")"; return ;;
                esac
                sleep 0.2
            done
            ;;
        *) log "unknown method $1 (BENCH_METHODS: native rebuild_constraints drop_swap tether tether-before)"; exit 2 ;;
    esac
}

child_table_id() {
    sql -e "SELECT TABLE_ID FROM information_schema.INNODB_SYS_TABLES WHERE NAME = '$DB/child'"
}

run_method() { # METHOD
    local m=$1 writer_url writer_pid t0 t1 outcome first_binlog id_before id_after
    log "$m: restoring the data"
    restore
    if [[ $m == tether* ]]; then
        local bin=$TETHER
        [ "$m" = tether-before ] && bin=$TETHER_BEFORE
        start_gateway "$bin"
        writer_url="mysql://bench:bench@127.0.0.1:$GW_PORT/$DB"
    else
        writer_url="mysql://bench:bench@127.0.0.1:$PORT/$DB"
    fi
    id_before=$(child_table_id)
    sql -e "FLUSH BINARY LOGS"
    first_binlog=$(sql -e "SHOW MASTER STATUS" | cut -f1)
    rm -f "$WORK/stop"
    WRITER_DELETE_PARENTS=$DELETE_PARENTS WRITER_PARENTS=$PARENTS WRITER_CHILDREN=$CHILDREN WRITER_RATE=$RATE \
        "$WRITER" "$writer_url" "$WORK/$m.writes" "$WORK/stop" 2>>"$WORK/writer.log" &
    writer_pid=$!
    PIDS+=("$writer_pid")
    sleep "$SETTLE"
    log "$m: ALTER TABLE parent $ALTER"
    t0=$(now_ms)
    outcome=$(run_alter "$m")
    t1=$(now_ms)
    log "$m: $outcome ($(( t1 - t0 )) ms)"
    sleep "$SETTLE"
    touch "$WORK/stop"
    wait "$writer_pid" || { log "$m: the writer failed (log: $WORK/writer.log)"; tail -5 "$WORK/writer.log" >&2; exit 1; }
    forget "$writer_pid"
    id_after=$(child_table_id)
    # Child row events (one "### INSERT/UPDATE/DELETE" line per row) from the run.
    local files=() f binlog_rows
    while read -r f _; do
        [[ "$f" < "$first_binlog" ]] || files+=("$DATA/$f")
    done < <(sql -e "SHOW BINARY LOGS")
    binlog_rows=$(mariadb-binlog --no-defaults --base64-output=decode-rows -v "${files[@]}" 2>/dev/null \
        | grep -cE "^### (INSERT INTO|UPDATE|DELETE FROM) \`$DB\`\.\`child\`$" || true)
    local fk orphans parents children shape
    fk=$(sql -e "SELECT CONCAT(CONSTRAINT_NAME, '->', REFERENCED_TABLE_NAME) FROM information_schema.REFERENTIAL_CONSTRAINTS
        WHERE CONSTRAINT_SCHEMA = '$DB' AND TABLE_NAME = 'child'" | paste -sd, -)
    orphans=$(sql "$DB" -e "SELECT COUNT(*) FROM child LEFT JOIN parent ON parent.id = child.parent_id WHERE parent.id IS NULL")
    parents=$(sql "$DB" -e "SELECT COUNT(*) FROM parent")
    children=$(sql "$DB" -e "SELECT COUNT(*) FROM child")
    shape=$(sql -e "SELECT (SELECT COUNT(*) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '$DB'
        AND TABLE_NAME = 'parent' AND COLUMN_NAME = 'tag') + (SELECT COUNT(DISTINCT INDEX_NAME)
        FROM information_schema.STATISTICS WHERE TABLE_SCHEMA = '$DB' AND TABLE_NAME = 'parent' AND INDEX_NAME = 'v_idx')")
    stop_gateway
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$m" "$t0" "$t1" "${outcome%% *}" \
        "$([ "$id_before" = "$id_after" ] && echo no || echo yes)" "$binlog_rows" "${fk:-none}" \
        "$orphans" "$parents" "$children" "$shape" "${outcome#* }" >>"$WORK/results"
}

for m in $METHODS; do
    run_method "$m"
done

# --- table -------------------------------------------------------------------------
echo
echo "MariaDB $(sql -e 'SELECT VERSION()'), pt-online-schema-change $("$PT_OSC" --version | awk '{print $2}'), \
$PARENTS parents, $CHILDREN children (ON DELETE CASCADE), writer $RATE statements/s$([ "$DELETE_PARENTS" = 1 ] || echo ' without parent deletes'), \
$(date -u '+%Y-%m-%d %H:%M') UTC, load average at start $LOAD_START, at end $(cut -d' ' -f1-3 /proc/loadavg)"
echo "ALTER TABLE parent $ALTER"
echo
python3 - "$WORK" "$PARENTS" "$CHILDREN" <<'EOF'
import statistics, sys
work, parents0, children0 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
names = {"native": "native ALTER", "rebuild_constraints": "pt-osc rebuild_constraints",
         "drop_swap": "pt-osc drop_swap", "tether": "Tether online", "tether-before": "Tether online (before)"}
rows = []
for line in open(f"{work}/results"):
    (m, t0, t1, status, rebuilt, binlog, fk, orphans, parents, children, shape, detail) = line.rstrip("\n").split("\t")
    t0, t1 = int(t0), int(t1)
    writes = [l.split() for l in open(f"{work}/{m}.writes")]
    lat = [int(w[1]) / 1000 for w in writes]
    # Statements that were running at some moment of the ALTER.
    during = [w for w in writes if int(w[0]) <= t1 and int(w[0]) + int(w[1]) / 1000 >= t0]
    longest = max(during, key=lambda w: int(w[1]), default=None)
    failed = {}
    for w in writes:
        if w[3] != "0":
            failed[w[3]] = failed.get(w[3], 0) + 1
    ok = [w for w in writes if w[3] == "0"]
    child_changes = sum(int(w[4]) for w in ok)
    cascaded = sum(int(w[4]) for w in ok if w[2] == "dp")
    want_parents = parents0 + sum(w[2] == "ip" for w in ok) - sum(w[2] == "dp" for w in ok)
    want_children = (children0 + sum(w[2] == "ic" for w in ok) - sum(int(w[4]) for w in ok if w[2] == "dc")
                     - cascaded)
    rows.append(dict(m=m, secs=(t1 - t0) / 1000, status=status, rebuilt=rebuilt, binlog=int(binlog),
                     child_changes=child_changes, cascaded=cascaded, fk=fk, orphans=orphans,
                     exact=(int(parents) == want_parents and int(children) == want_children and shape == "2"),
                     median=statistics.median(lat) if lat else 0,
                     worst=f"{int(longest[1]) / 1000:,.0f} ({longest[2]})" if longest else "-", n=len(writes), failed=failed, detail=detail))
base = {r["m"]: r["secs"] for r in rows if r["m"] in ("rebuild_constraints", "drop_swap") and r["status"] == "ok"}
head = ["method", "total s"] + [f"/ {names[b]}" for b in base] + [
    "writer median ms", "longest write during ALTER ms", "failed writes", "child rebuilt",
    "child rows in binlog / changed (of which cascaded)", "child FK after", "orphans", "rows exact"]
print("| " + " | ".join(head) + " |")
print("|" + "---|" * len(head))
for r in rows:
    cells = [names.get(r["m"], r["m"]), f"{r['secs']:.1f}" + ("" if r["status"] == "ok" else " (FAILED)")]
    cells += [f"{r['secs'] / s:.2f}" for s in base.values()]
    failed = ", ".join(f"{n} x {code}" for code, n in sorted(r["failed"].items())) or "0"
    cells += [f"{r['median']:.1f}", r["worst"], f"{failed} of {r['n']}", r["rebuilt"],
              f"{r['binlog']:,} / {r['child_changes']:,} ({r['cascaded']:,})", r["fk"], r["orphans"],
              "yes" if r["exact"] else "NO"]
    print("| " + " | ".join(cells) + " |")
print()
for r in rows:
    if r["detail"] not in ("", "-"):
        print(f"- {names.get(r['m'], r['m'])}: {r['detail']}")
EOF
