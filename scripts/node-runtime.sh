#!/usr/bin/env bash
# Installs (once) what the single-node test cluster runs on and builds its images with, from Debian's
# packages: containerd, runc, the CNI plugins (bridge, host-local, loopback, portmap), iptables and
# conntrack for kube-proxy, buildah and mmdebstrap for the images, and Node.js (the cluster tests' client
# plays the recommender, whose side is JavaScript). Needs root on a Debian bookworm machine;
# a second run with everything installed changes nothing and asks no mirror.
#
# Usage: bash scripts/node-runtime.sh [--help]
set -euo pipefail
case "${1:-}" in
    -h | --help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
esac

packages=(containerd runc containernetworking-plugins iptables conntrack iproute2 kmod buildah mmdebstrap nodejs)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [[ ${#missing[@]} -eq 0 ]]; then
    exit 0
fi
if [[ $EUID -ne 0 ]]; then
    echo "node-runtime: ${missing[*]} missing; run this script as root (it installs Debian packages)" >&2
    exit 1
fi
echo "node-runtime: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
