#!/bin/sh
# Drive a running demo site through its backend's control endpoint (backend-main --admin-port 9090).
#   ./site.sh east-sh status
#   ./site.sh east-sh load 0.97 [memory] [network]   # report overload in heartbeats
#   ./site.sh east-sh load reset                     # back to measured load
#   ./site.sh east-sh latency 250                    # artificial per-request delay (ms)
#   ./site.sh east-sh heartbeats off|on
#   ./site.sh east-sh serving off|on                 # grpc.health.v1 status
#   ./site.sh east-sh deregister
set -eu
site=${1:?site, e.g. east-sh}; action=${2:?action}
case "$action" in
  status) method=GET; path=/status; body= ;;
  load)
    if [ "${3:-}" = reset ]; then body='{}'; else body="{\"cpu\":${3:?cpu 0..1},\"memory\":${4:-0.5},\"network\":${5:-0.3}}"; fi
    method=POST; path=/load ;;
  latency) method=POST; path=/latency; body="{\"ms\":${3:?ms}}" ;;
  heartbeats) method=POST; path=/heartbeats; body="{\"enabled\":$([ "${3:?on|off}" = on ] && echo true || echo false)}" ;;
  serving) method=POST; path=/serving; body="{\"serving\":$([ "${3:?on|off}" = on ] && echo true || echo false)}" ;;
  deregister) method=POST; path=/deregister; body= ;;
  *) echo "unknown action $action" >&2; exit 2 ;;
esac
COMPOSE=${COMPOSE:-docker compose}
$COMPOSE exec -T "$site-backend" node -e "
fetch('http://127.0.0.1:9090$path', { method: '$method', headers: { 'content-type': 'application/json' }, body: '$method' === 'GET' ? undefined : (process.argv[1] || undefined) })
  .then((r) => r.text()).then((t) => console.log(t), (e) => { console.error(e.message); process.exit(1); });
" "$body"
