# Shared by deploy/bench-*: a fresh database, a release server on a free port, an admin token,
# and the progress display of long phases (below).
# Sourced, not run. Sets: server_bin, bench_bin, db_url, base, token; stops the server on exit.

say() { progress_clear; echo "$(basename "$0"): $*" >&2; }
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$root"

fresh_db() { # NAME -> URL of an empty database NAME on the private cluster
    local base_url server
    base_url=$("$root/deploy/db")
    server=${base_url%/*}
    PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 "$server/postgres" \
        -c "drop database if exists \"$1\" with (force)" -c "create database \"$1\"" >/dev/null
    echo "$server/$1"
}

build_release() {
    say "building the release server, agent and bench tool"
    SQLX_OFFLINE=true cargo build --release --locked -p stampbook-server -p stampbook-agent >&2
    SQLX_OFFLINE=true cargo bench --locked -p stampbook-server --bench bench --no-run >&2 2>/tmp/bench-build.$$ || { cat /tmp/bench-build.$$ >&2; exit 1; }
    bench_bin=$(SQLX_OFFLINE=true cargo bench --locked -p stampbook-server --bench bench --no-run --message-format=json 2>/dev/null \
        | jq -r 'select(.reason == "compiler-artifact" and .target.name == "bench" and .executable != null) | .executable' | tail -n 1)
    server_bin="$root/target/release/stampbook-server"
}

start_server() { # DB_URL
    db_url=$1
    DATABASE_URL="$db_url" "$server_bin" migrate >/dev/null
    local port
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    base="http://127.0.0.1:$port"
    DATABASE_URL="$db_url" STAMPBOOK_LISTEN="127.0.0.1:$port" STAMPBOOK_NO_WORKERS=true STAMPBOOK_RATE_LIMIT_PER_MIN=0 \
        STAMPBOOK_DB_POOL_SIZE=16 RUST_LOG=warn "$server_bin" serve >"$root/.data/bench-server.log" 2>&1 &
    server_pid=$!
    trap 'kill $server_pid 2>/dev/null || true' EXIT
    for _ in $(seq 1 100); do curl -fsS "$base/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
    token=$(DATABASE_URL="$db_url" "$server_bin" token create --name "bench-$(date +%s%N)" --scope admin)
}

# ---- progress of a long phase: the display of the Rust commands (crate stampbook-progress) ----
# On stderr, beside the `say` lines (stdout carries the results scripts read): a bar redrawn in
# place when stderr is a terminal, plain lines otherwise (one per tenth of the work, and the
# last), as in a CI log. The bench scripts that do not use the rest of this file source it too.
#   progress WHAT DONE TOTAL [NOTE]     DONE of TOTAL (NOTE: what is being done now)
#   progress_clear                      erase the bar (terminal) before a line of your own
#   progress_while PID WHAT [SECONDS]   follow the background job PID until it ends: a bar over
#                                       SECONDS when its length is known, else the time it has
#                                       taken (a line every 30 s when not a terminal); returns the
#                                       job's exit status
_progress_what="" _progress_tenth=0 _progress_bar=0
progress() {
    local what=$1 done=$2 total=$3 note=${4:+ $4}
    [ "$total" -gt 0 ] || total=1
    [ "$done" -le "$total" ] || done=$total
    if [ "$what" != "$_progress_what" ]; then _progress_what=$what _progress_tenth=0; fi
    if [ -t 2 ]; then
        local filled=$((done * 30 / total)) bar rest
        printf -v bar '%*s' "$filled" ''
        printf -v rest '%*s' $((30 - filled)) ''
        printf '\r%s [%s%s] %s/%s%s\033[K' "$what" "${bar// /#}" "${rest// /.}" "$done" "$total" "$note" >&2
        _progress_bar=1
        if [ "$done" = "$total" ]; then printf '\n' >&2; _progress_bar=0 _progress_what=""; fi
        return 0
    fi
    local tenth=$((done * 10 / total))
    if [ "$tenth" != "$_progress_tenth" ] || [ "$done" = "$total" ]; then
        _progress_tenth=$tenth
        printf '%s: %s/%s (%s%%)%s\n' "$what" "$done" "$total" $((done * 100 / total)) "$note" >&2
    fi
    if [ "$done" = "$total" ]; then _progress_what=""; fi
    return 0
}
progress_clear() {
    if [ "$_progress_bar" = 1 ]; then printf '\r\033[K' >&2; _progress_bar=0; fi
    return 0
}
progress_while() {
    local pid=$1 what=$2 seconds=${3:-0} started=$SECONDS elapsed last=0 status=0
    seconds=${seconds%.*}
    while kill -0 "$pid" 2>/dev/null; do
        elapsed=$((SECONDS - started))
        if [ "${seconds:-0}" -gt 0 ]; then
            # 100 % is for when the job has ended, not for when its time is up
            progress "$what" $((elapsed < seconds ? elapsed : seconds - 1)) "$seconds"
        elif [ -t 2 ]; then
            printf '\r%s: %s s\033[K' "$what" "$elapsed" >&2
            _progress_bar=1
        elif [ $((elapsed / 30)) -gt "$last" ]; then
            last=$((elapsed / 30))
            printf '%s: %s s so far\n' "$what" "$elapsed" >&2
        fi
        sleep 1
    done
    wait "$pid" || status=$?
    elapsed=$((SECONDS - started))
    if [ "$status" != 0 ]; then
        progress_clear
        printf '%s: failed (exit status %s) after %s s\n' "$what" "$status" "$elapsed" >&2
        _progress_what=""
    elif [ "${seconds:-0}" -gt 0 ]; then
        progress "$what" "$seconds" "$seconds"
    else
        progress_clear
        printf '%s: done in %s s\n' "$what" "$elapsed" >&2
    fi
    return "$status"
}
