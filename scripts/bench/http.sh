#!/usr/bin/env bash
# HTTP and HTTPS keep-alive throughput of GET /api/public/health: Parley against nginx (one
# worker) answering the same path with the same body, measured in the same run, interleaved,
# several times. Prints a Markdown table of medians (min–max) and the Parley/nginx ratio.
#
# Usage: scripts/bench/http.sh [RUNS] [SECONDS] [CONNECTIONS]
# Needs wrk and nginx (installed from Debian packages when missing).
set -euo pipefail
cd "$(dirname "$0")/../.."

runs=${1:-5}
seconds=${2:-8}
connections=${3:-64}

for tool in wrk nginx; do
    if ! command -v "$tool" >/dev/null 2>&1 && [ ! -x "/usr/sbin/$tool" ]; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$tool" >/dev/null
    fi
done
nginx_bin=$(command -v nginx || echo /usr/sbin/nginx)

swift build -c release --product parley >/dev/null
parley_bin=$(swift build -c release --show-bin-path)/parley

work=$(mktemp -d)
pids=()
cleanup() {
    for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$work"
}
trap cleanup EXIT

scripts/gen-dev-cert.sh "$work/certs" >/dev/null

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
nginx_port=$(free_port)
nginx_tls_port=$(free_port)
body='{"status":"OK","version":"0.1.0"}'
mkdir -p "$work/nginx"
cat >"$work/nginx/nginx.conf" <<CONF
worker_processes 1;
daemon off;
pid $work/nginx/nginx.pid;
error_log $work/nginx/error.log warn;
events { worker_connections 8192; }
http {
    access_log off;
    keepalive_requests 10000000;
    keepalive_timeout 60s;
    client_body_temp_path $work/nginx;
    proxy_temp_path $work/nginx;
    fastcgi_temp_path $work/nginx;
    uwsgi_temp_path $work/nginx;
    scgi_temp_path $work/nginx;
    server {
        listen 127.0.0.1:$nginx_port;
        listen 127.0.0.1:$nginx_tls_port ssl;
        ssl_certificate $work/certs/server.pem;
        ssl_certificate_key $work/certs/server-key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
        location = /api/public/health {
            default_type application/json;
            return 200 '$body';
        }
    }
}
CONF
"$nginx_bin" -c "$work/nginx/nginx.conf" -p "$work/nginx" &
pids+=($!)

# Parley with one I/O thread, to match nginx's one worker; access log off like nginx's.
"$parley_bin" serve --port 0 --tls-port 0 --threads 1 --log-level warning \
    --tls-cert "$work/certs/server.pem" --tls-key "$work/certs/server-key.pem" \
    --db "$work/parley.sqlite" 2>"$work/parley.log" &
pids+=($!)

for _ in $(seq 1 100); do
    grep -q 'listening on https' "$work/parley.log" 2>/dev/null && break
    sleep 0.05
done
parley_port=$(sed -n 's|listening on http://[^:]*:\([0-9]*\)$|\1|p' "$work/parley.log")
parley_tls_port=$(sed -n 's|listening on https://[^:]*:\([0-9]*\)$|\1|p' "$work/parley.log")
for url in "http://127.0.0.1:$nginx_port" "http://127.0.0.1:$parley_port"; do
    for _ in $(seq 1 100); do curl -sf "$url/api/public/health" >/dev/null && break; sleep 0.05; done
done

measure() { # URL -> requests/s
    wrk -t1 -c"$connections" -d"${seconds}s" "$1/api/public/health" | awk '/Requests\/sec/ {print $2}'
}
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
minmax() { sort -g | awk 'NR==1{min=$1} {max=$1} END {printf "%.0f–%.0f", min, max}'; }

declare -A results
for run in $(seq 1 "$runs"); do
    # Interleave the servers so drift in machine load hits both alike.
    results[nginx_http]+="$(measure "http://127.0.0.1:$nginx_port") "
    results[parley_http]+="$(measure "http://127.0.0.1:$parley_port") "
    results[nginx_https]+="$(measure "https://127.0.0.1:$nginx_tls_port") "
    results[parley_https]+="$(measure "https://127.0.0.1:$parley_tls_port") "
    echo "run $run/$runs done" >&2
done

row() { # label key
    local values; values=$(tr ' ' '\n' <<<"${results[$2]}" | grep -v '^$')
    printf '| %s | %.0f | %s |\n' "$1" "$(median <<<"$values")" "$(minmax <<<"$values")"
}
ratio() {
    local a b
    a=$(tr ' ' '\n' <<<"${results[$1]}" | grep -v '^$' | median)
    b=$(tr ' ' '\n' <<<"${results[$2]}" | grep -v '^$' | median)
    awk -v a="$a" -v b="$b" 'BEGIN {printf "%.2f", a / b}'
}

echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); $(date -u +%Y-%m-%d); parley $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
echo "wrk -t1 -c$connections -d${seconds}s, $runs interleaved runs; Parley --threads 1 vs nginx worker_processes 1, both without access log"
echo
echo "| server, GET /api/public/health keep-alive | median req/s | min–max |"
echo "|---|---|---|"
row "nginx HTTP" nginx_http
row "Parley HTTP" parley_http
row "nginx HTTPS" nginx_https
row "Parley HTTPS" parley_https
echo
echo "Parley/nginx: HTTP $(ratio parley_http nginx_http), HTTPS $(ratio parley_https nginx_https)"
