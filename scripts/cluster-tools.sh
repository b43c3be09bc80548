#!/usr/bin/env bash
# Everything the real single-node cluster needs, cached, with each phase's wall time printed:
#   1. the runtime from Debian's packages (scripts/node-runtime.sh; root),
#   2. at the same time: the Kubernetes binaries (scripts/k8s-tools.sh, CPU-bound Go builds) and the images
#      that need none of them (scripts/images.sh: base, project, NATS, Redis, PostgreSQL; mostly downloads
#      and unpacking), so a cold run overlaps the two,
#   3. the images made of Go-built binaries (pause, CoreDNS, Prometheus, Traefik, KServe's agent).
# A warm run checks stamps and layer caches and takes seconds.
#
# Usage: bash scripts/cluster-tools.sh [--help]
set -euo pipefail
case "${1:-}" in
    -h | --help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
esac
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
log="$(mktemp)"
trap 'rm -f "$log" "$log.seconds"' EXIT

phase() { echo "== phase $1: $2s" >&2; }

start=$SECONDS
bash "$here/node-runtime.sh"
phase "runtime packages" $((SECONDS - start))

start=$SECONDS
(
    began=$SECONDS
    bash "$here/k8s-tools.sh" >/dev/null 2>"$log"
    echo $((SECONDS - began)) >"$log.seconds"
) &
tools_pid=$!
bash "$here/images.sh" base tipsml nats redis postgres
phase "images (project and dependencies)" $((SECONDS - start))
if ! wait "$tools_pid"; then
    cat "$log" >&2
    echo "cluster-tools: building the Kubernetes binaries failed (log above)" >&2
    exit 1
fi
grep "k8s-tools: built" "$log" >&2 || true
phase "Kubernetes binaries (alongside the images)" "$(cat "$log.seconds")"
phase "binaries and images together" $((SECONDS - start))

start=$SECONDS
bash "$here/images.sh" pause coredns prometheus traefik kserve-agent
phase "images (pause, CoreDNS, Prometheus, Traefik, KServe agent)" $((SECONDS - start))
