# Shared by deploy/bench-*: a fresh database, a release server on a free port, an admin token.
# Sourced, not run. Sets: server_bin, bench_bin, db_url, base, token; stops the server on exit.

say() { echo "$(basename "$0"): $*" >&2; }
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
