#!/bin/sh
# Enrolls every relay and site of the demo (run once by the `provision` service; idempotent).
# What an operator does by hand: `edge-xds token create` on the global tier, `edge-xds enroll`
# on the machine that will hold the key. Here both run in one container for the demo; the keys
# end up in the certs volume, one folder per relay or site, mounted read-only by its services.
set -eu
cli() { node /app/dist/src/cli/main.js "$@"; }
SERVER=https://global:8080
AUTH="--server $SERVER --cacert /global/pki/ca.pem --token-file /global/admin-token"

enroll() { # enroll KIND ID [SAN...]
  kind=$1 id=$2; shift 2
  dir=/certs/$id
  if [ -f "$dir/cert.pem" ]; then echo "provision: $id already enrolled"; return; fi
  sans=""; for s in "$@"; do sans="$sans --san $s"; done
  relay=""; [ "$kind" = relay ] && relay="--relay"
  token=$(cli token create $AUTH --node "$id" $relay $sans --description "docker-compose demo")
  cli enroll --server $SERVER --cacert /global/pki/ca.pem --token "$token" --node-id "$id" $relay --out "$dir"
  # The services run as the image's unprivileged user.
  chown -R node:node "$dir"
  echo "provision: $kind $id enrolled"
}

enroll relay cn-east-relay-1 relay-1.cn-east.lan 10.78.1.2 10.77.1.2 localhost
enroll relay cn-east-relay-2 relay-2.cn-east.lan 10.78.1.3 10.77.1.3 localhost
enroll relay cn-north-relay-1 relay-1.cn-north.lan 10.78.2.2 10.77.2.2 localhost
enroll relay cn-north-relay-2 relay-2.cn-north.lan 10.78.2.3 10.77.2.3 localhost
for node in east-sh east-hz east-nj east-client north-bj north-tj north-client; do enroll node "$node"; done
