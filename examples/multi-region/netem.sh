#!/bin/sh
# WAN emulation for the multi-region demo (runs in the `netem` container:
# host network namespace + NET_ADMIN).
#
# Every container's backbone interface is one veth pair; its host-side end is
# a port of the bridge $BRIDGE (exd-backbone). A packet leaving a port goes
# *into* that container, so shaping each port's egress delays every packet on
# its last hop. Address plan of the backbone (docker-compose.yml):
#   10.77.0.0/24 global tier   10.77.1.0/24 cn-east   10.77.2.0/24 cn-north
# On every port: prio qdisc, everything in band 1 (no delay) except packets
# whose source and destination are in different tiers/regions:
#   cn-east <-> cn-north           -> band 4: netem $INTER_REGION
#   region  <-> global             -> band 5: netem $REGION_GLOBAL
# Intra-region traffic on the backbone is not shaped. Delays are one way (RTT x2).
#
#   sh netem.sh apply       shape every current port (idempotent)
#   sh netem.sh loop        apply every 5 s (new ports after container restarts)
#   sh netem.sh clear       remove the shaping from every port
#   sh netem.sh show        qdiscs and per-band counters
#   sh netem.sh set inter|global "<netem args>"   change the parameters on every port now
set -eu
BRIDGE=${BRIDGE:-exd-backbone}
INTER_REGION=${INTER_REGION:-"delay 40ms 8ms distribution normal loss 1%"}
REGION_GLOBAL=${REGION_GLOBAL:-"delay 25ms 5ms distribution normal loss 0.5%"}
GLOBAL=10.77.0.0/24
EAST=10.77.1.0/24
NORTH=10.77.2.0/24

ports() { ip -o link show master "$BRIDGE" 2>/dev/null | awk -F': ' '{print $2}' | cut -d@ -f1; }

filter() { # dev src dst band
  tc filter add dev "$1" parent 1: protocol ip prio 1 u32 match ip src "$2" match ip dst "$3" flowid "1:$4"
}

shape() {
  dev=$1
  if tc qdisc show dev "$dev" | grep -q netem; then return 0; fi
  tc qdisc replace dev "$dev" root handle 1: prio bands 5 priomap 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0
  # shellcheck disable=SC2086
  tc qdisc add dev "$dev" parent 1:4 handle 40: netem $INTER_REGION
  # shellcheck disable=SC2086
  tc qdisc add dev "$dev" parent 1:5 handle 50: netem $REGION_GLOBAL
  filter "$dev" "$EAST" "$NORTH" 4
  filter "$dev" "$NORTH" "$EAST" 4
  for r in "$EAST" "$NORTH"; do
    filter "$dev" "$r" "$GLOBAL" 5
    filter "$dev" "$GLOBAL" "$r" 5
  done
  echo "netem: shaped $dev"
}

apply() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    echo "netem: bridge $BRIDGE not found yet (is the backbone network up?)"
    return 0
  fi
  for p in $(ports); do shape "$p"; done
}

case "${1:-apply}" in
  apply) apply ;;
  loop)
    trap 'exit 0' TERM INT
    while :; do apply; sleep 5 & wait $!; done ;;
  clear) for p in $(ports); do tc qdisc del dev "$p" root 2>/dev/null || true; done; echo "netem: cleared" ;;
  show) for p in $(ports); do echo "== $p"; tc -s qdisc show dev "$p"; done ;;
  set)
    which=${2:?inter|global}; args=${3:?netem arguments, e.g. "delay 80ms loss 5%"}
    handle=40:; [ "$which" = global ] && handle=50:
    # shellcheck disable=SC2086
    for p in $(ports); do tc qdisc change dev "$p" parent "1:$([ "$handle" = 40: ] && echo 4 || echo 5)" handle "$handle" netem $args; done
    echo "netem: $which -> $args" ;;
  *) echo "usage: netem.sh apply|loop|clear|show|set inter|global ARGS" >&2; exit 2 ;;
esac
