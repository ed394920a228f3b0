#!/bin/sh
# One-shot (temporalio/admin-tools): creates the namespace and registers the search attributes our workflows use.
# Safe to re-run: an existing namespace is kept, and creating a search attribute that exists with the same type
# succeeds.
set -eu

: "${TEMPORAL_ADDRESS:=temporal:7233}"
: "${TEMPORAL_NAMESPACE:=default}"
host="${TEMPORAL_ADDRESS%:*}"
port="${TEMPORAL_ADDRESS##*:}"

# Resolve to IPv4 first: the name may also resolve to an address the server does not listen on.
ip="$(getent ahostsv4 "$host" | awk 'NR == 1 { print $1 }')"
address="${ip:-$host}:$port"

retry() {
  tries=0
  until "$@"; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || { echo "giving up: $*"; exit 1; }
    sleep 2
  done
}

echo "waiting for Temporal at $address"
retry temporal operator cluster health --address "$address"

if ! temporal operator namespace describe --address "$address" --namespace "$TEMPORAL_NAMESPACE" >/dev/null 2>&1; then
  echo "creating namespace $TEMPORAL_NAMESPACE"
  retry temporal operator namespace create --address "$address" --namespace "$TEMPORAL_NAMESPACE" --retention 72h
fi

# Keep in step with SEARCH_ATTRIBUTES in scripts/lib/servers.ts.
for attribute in SagaStatus:Keyword CustomerId:Keyword OrderTotal:Double; do
  retry temporal operator search-attribute create --address "$address" --namespace "$TEMPORAL_NAMESPACE" \
    --name "${attribute%%:*}" --type "${attribute##*:}"
done
temporal operator search-attribute list --address "$address" --namespace "$TEMPORAL_NAMESPACE"
