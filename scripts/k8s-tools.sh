#!/usr/bin/env bash
# Builds (once) or reuses the tools of the test Kubernetes clusters, for the versions pinned in
# scripts/k8s-versions.env: the control plane (kube-apiserver, etcd, kubectl, helm) and the
# single node (kubelet, kube-scheduler, kube-controller-manager, kube-proxy, CoreDNS, and the
# pod sandbox "pause" binary compiled from the C source the Kubernetes module carries), and KServe's
# controller (kserve-manager) with the config files of its release (see k8s-build/kserve/),
# Prometheus and Traefik (their images copy the binaries), and the Gateway API's standard-channel CRDs
# (Traefik's kubernetesGateway provider reads them).
#
# No package registry ships kube-apiserver, so it is built the way envtest users get theirs:
# from the published Go modules, through the Go module proxy only. kubectl and helm are built
# the same way so that every tool matches the pinned release on any machine.
#
# Binaries land in ~/.cache/tipsml/k8s/<K8S_VERSION>/bin (override the root with
# TIPSML_K8S_CACHE). A stamp per tool records what it was built from (pin, wrapper module,
# Go version), so a second run is a fast no-op and a changed pin rebuilds only what it touches.
#
# Usage:
#   bash scripts/k8s-tools.sh                   build or reuse; print `export NAME=path` lines
#   eval "$(bash scripts/k8s-tools.sh)"         ... and put them in the current shell
#   source scripts/k8s-tools.sh                 same as eval
#   bash scripts/k8s-tools.sh --update-modules  after a pin bump: write the resolved go.mod and
#                                               go.sum back into scripts/k8s-build/ to commit
# Build progress goes to stderr; stdout carries only the export lines.

_k8s_tools_main() {
    set -euo pipefail
    local update_modules=0
    case "${1:-}" in
        --update-modules) update_modules=1 ;;
        "") ;;
        -h | --help)
            awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "${BASH_SOURCE[0]}"
            return 0
            ;;
        *)
            echo "k8s-tools: unknown argument: $1 (try --help)" >&2
            return 2
            ;;
    esac

    local here
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    # shellcheck source=k8s-versions.env
    source "$here/k8s-versions.env"
    : "${K8S_VERSION:?missing in k8s-versions.env}" "${ETCD_VERSION:?}" "${HELM_VERSION:?}" "${COREDNS_VERSION:?}"
    : "${KSERVE_VERSION:?}" "${PROMETHEUS_VERSION:?}" "${PROMETHEUS_RELEASE:?}"
    : "${TRAEFIK_VERSION:?}" "${GATEWAY_API_VERSION:?}"

    local go_bin="${GO:-}"
    if [[ -z "$go_bin" ]]; then
        go_bin="$(command -v go || true)"
        if [[ -z "$go_bin" && -x /usr/local/go/bin/go ]]; then
            go_bin=/usr/local/go/bin/go # the official tarball's place, often not on PATH
        fi
    fi
    if [[ -z "$go_bin" ]]; then
        echo "k8s-tools: the Go toolchain is needed to build kube-apiserver; install Go and retry" >&2
        return 1
    fi

    local root="${TIPSML_K8S_CACHE:-$HOME/.cache/tipsml/k8s}"
    local dir="$root/$K8S_VERSION"
    local bin="$dir/bin"
    mkdir -p "$bin" "$dir/stamps" "$dir/src"

    # Only one build at a time per version: a second caller waits, then finds the stamps fresh.
    exec {lock_fd}>"$dir/.lock"
    flock "$lock_fd"

    local go_version k8s_minor
    go_version="$("$go_bin" env GOVERSION)"
    k8s_minor="${K8S_VERSION#v1.}"
    k8s_minor="${k8s_minor%%.*}"
    local staging_version="v0.${K8S_VERSION#v1.}"

    # A stamp per tool: its pin, the Go version, the recipe number and its wrapper module files.
    # Bump when a build command or flag below changes, so every tool rebuilds; editing anything else in
    # this script (comments, a new tool) leaves the tools already built alone.
    local recipe=2
    _stamp_for() {
        local module="$1" pin="$2"
        {
            echo "pin=$pin go=$go_version recipe=$recipe"
            cat "$here/k8s-build/$module"/*
        } | sha256sum | cut -d' ' -f1
    }

    _fresh() {
        local module="$1" stamp="$2"
        shift 2
        [[ -f "$dir/stamps/$module" && "$(cat "$dir/stamps/$module")" == "$stamp" ]] || return 1
        local tool
        for tool in "$@"; do
            [[ -x "$bin/$tool" ]] || return 1
        done
    }

    # Copies a wrapper module to a scratch folder and points its require line at the pin.
    _prepare() {
        local module="$1" path="$2" version="$3" name="${4:-$1}"
        local work="$dir/src/$name"
        rm -rf "$work"
        mkdir -p "$work"
        cp "$here/k8s-build/$module"/* "$work/"
        (cd "$work" && "$go_bin" mod edit -require="$path@$version")
        echo "$work"
    }

    # Rewrites the replace lines so each k8s.io staging module resolves to its published release.
    _route_staging_modules() {
        local work="$1"
        local upstream
        upstream="$(cd "$work" && "$go_bin" mod download -json "k8s.io/kubernetes@$K8S_VERSION" |
            sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",$/\1/p')"
        local args=() name
        while read -r name; do
            args+=("-replace=$name=$name@$staging_version")
        done < <(sed -n 's|^[[:space:]]*\(k8s\.io/[^ ]*\) => \./staging/src/.*|\1|p' "$upstream")
        # Same language version and GODEBUG defaults as the upstream build of the release.
        local go_line godebug
        go_line="$(sed -n 's/^go \([0-9.]*\)$/\1/p' "$upstream")"
        godebug="$(sed -n 's/^godebug \(default=go[0-9.]*\)$/\1/p' "$upstream")"
        args+=("-go=$go_line")
        [[ -n "$godebug" ]] && args+=("-godebug=$godebug")
        (cd "$work" && "$go_bin" mod edit "${args[@]}")
    }

    _build() {
        local module="$1" work="$2" ldflags="$3"
        shift 3
        local out="$dir/tmp-$module-$BASHPID"
        rm -rf "$out"
        mkdir -p "$out"
        echo "k8s-tools: building $module ($*) into $bin; the first build takes a while" >&2
        local start=$SECONDS
        (
            cd "$work"
            GOFLAGS="-mod=mod -buildvcs=false" GOWORK=off CGO_ENABLED=0 \
                "$go_bin" build -trimpath -ldflags "-s -w $ldflags" -o "$out/" "$@"
        ) >&2
        local tool
        for tool in "$out"/*; do
            mv -f "$tool" "$bin/"
        done
        rmdir "$out"
        echo "k8s-tools: built $module in $((SECONDS - start))s" >&2
        if [[ "$update_modules" == 1 ]]; then
            cp "$work/go.mod" "$work/go.sum" "$here/k8s-build/$module/"
            echo "k8s-tools: wrote scripts/k8s-build/$module/go.mod and go.sum" >&2
        fi
    }

    # What `kubectl version` and the kubelet report: the pinned release, not "v0.0.0-master".
    _kube_version_flags() {
        local kv="" pkg
        for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
            kv+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
            kv+=" -X $pkg.gitTreeState=clean"
        done
        echo "$kv"
    }

    local stamp work pkg
    stamp="$(_stamp_for kube "$K8S_VERSION")"
    if [[ "$update_modules" == 1 ]] || ! _fresh kube "$stamp" kube-apiserver kubectl; then
        work="$(_prepare kube k8s.io/kubernetes "$K8S_VERSION")"
        _route_staging_modules "$work"
        _build kube "$work" "$(_kube_version_flags)" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
        stamp="$(_stamp_for kube "$K8S_VERSION")"
        echo "$stamp" >"$dir/stamps/kube"
    fi

    # The node's binaries come from the same wrapper module and pin as kube-apiserver, built apart so
    # that adding them never rebuilds the control plane the API tests use.
    stamp="$(_stamp_for kube "$K8S_VERSION node")"
    if [[ "$update_modules" == 1 ]] || ! _fresh node "$stamp" kubelet kube-scheduler kube-controller-manager kube-proxy; then
        work="$(_prepare kube k8s.io/kubernetes "$K8S_VERSION" node)"
        _route_staging_modules "$work"
        _build kube "$work" "$(_kube_version_flags)" k8s.io/kubernetes/cmd/kubelet \
            k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kube-controller-manager \
            k8s.io/kubernetes/cmd/kube-proxy
        stamp="$(_stamp_for kube "$K8S_VERSION node")"
        echo "$stamp" >"$dir/stamps/node"
    fi

    # The pod sandbox ("pause") is a C program of the Kubernetes module: no registry here serves its image.
    stamp="$(_stamp_for kube "$K8S_VERSION pause")"
    if ! _fresh pause "$stamp" pause; then
        local src
        src="$("$go_bin" env GOMODCACHE)/k8s.io/kubernetes@$K8S_VERSION/build/pause/linux/pause.c"
        if [[ ! -f "$src" ]]; then
            (cd "$dir/src/node" 2>/dev/null || cd "$dir/src/kube"; "$go_bin" mod download k8s.io/kubernetes) >&2
        fi
        echo "k8s-tools: compiling pause from $src" >&2
        cc -Os -static -Wall -DVERSION="\"$K8S_VERSION\"" -o "$bin/pause" "$src"
        strip "$bin/pause"
        echo "$stamp" >"$dir/stamps/pause"
    fi

    stamp="$(_stamp_for coredns "$COREDNS_VERSION")"
    if [[ "$update_modules" == 1 ]] || ! _fresh coredns "$stamp" coredns; then
        work="$(_prepare coredns github.com/coredns/coredns "$COREDNS_VERSION")"
        _build coredns "$work" "-X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" \
            github.com/coredns/coredns
        stamp="$(_stamp_for coredns "$COREDNS_VERSION")"
        echo "$stamp" >"$dir/stamps/coredns"
    fi

    stamp="$(_stamp_for etcd "$ETCD_VERSION")"
    if [[ "$update_modules" == 1 ]] || ! _fresh etcd "$stamp" etcd; then
        work="$(_prepare etcd go.etcd.io/etcd/server/v3 "$ETCD_VERSION")"
        _build etcd "$work" "" .
        stamp="$(_stamp_for etcd "$ETCD_VERSION")"
        echo "$stamp" >"$dir/stamps/etcd"
    fi

    stamp="$(_stamp_for helm "$HELM_VERSION")"
    if [[ "$update_modules" == 1 ]] || ! _fresh helm "$stamp" helm; then
        work="$(_prepare helm helm.sh/helm/v3 "$HELM_VERSION")"
        local hv="-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION"
        hv+=" -X helm.sh/helm/v3/internal/version.gitTreeState=clean"
        for pkg in helm.sh/helm/v3/pkg/lint/rules helm.sh/helm/v3/pkg/chartutil; do
            hv+=" -X $pkg.k8sVersionMajor=1 -X $pkg.k8sVersionMinor=$k8s_minor"
        done
        _build helm "$work" "$hv" helm.sh/helm/v3/cmd/helm
        stamp="$(_stamp_for helm "$HELM_VERSION")"
        echo "$stamp" >"$dir/stamps/helm"
    fi

    # Builds a command of a module inside that module (not a wrapper): KServe's, Prometheus' and Traefik's
    # go.mod pin dependencies by replace and exclude directives, which only the main module's go.mod applies.
    _build_in_module() {
        local name="$1" path="$2" version="$3" pkg="$4" ldflags="$5"
        local src work="$dir/src/$name"
        src="$(cd "$dir/src" && GOFLAGS=-mod=mod "$go_bin" mod download -json "$path@$version" |
            sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
        [[ -d "$src" ]] || { echo "k8s-tools: $path@$version did not download" >&2; return 1; }
        rm -rf "$work"
        cp -r "$src" "$work"
        chmod -R u+w "$work"
        echo "k8s-tools: building $name $version into $bin; the first build takes a while" >&2
        local start=$SECONDS
        (cd "$work" && GOFLAGS="-mod=readonly -buildvcs=false" GOWORK=off CGO_ENABLED=0 \
            "$go_bin" build -trimpath -ldflags "-s -w $ldflags" -o "$bin/$name" "$pkg") >&2
        echo "k8s-tools: built $name in $((SECONDS - start))s" >&2
    }

    # KServe's controller, and the config files the cluster installs (minimal CRDs,
    # inferenceservice-config, webhooks, runtimes), listed in k8s-build/kserve/config-files.txt.
    stamp="$(_stamp_for kserve "$KSERVE_VERSION")"
    if ! _fresh kserve "$stamp" kserve-manager || [[ ! -f "$dir/kserve/$KSERVE_VERSION/config/webhook/manifests.yaml" ]]; then
        _build_in_module kserve-manager github.com/kserve/kserve "$KSERVE_VERSION" ./cmd/manager ""
        local rel
        rm -rf "$dir/kserve/$KSERVE_VERSION"
        while read -r rel; do
            [[ -z "$rel" || "$rel" == \#* ]] && continue
            mkdir -p "$dir/kserve/$KSERVE_VERSION/$(dirname "$rel")"
            cp "$dir/src/kserve-manager/$rel" "$dir/kserve/$KSERVE_VERSION/$rel"
        done <"$here/k8s-build/kserve/config-files.txt"
        rm -rf "$dir/src/kserve-manager"
        echo "$stamp" >"$dir/stamps/kserve"
    fi

    # KServe's agent: the sidecar its pod webhook injects beside a predictor with a `logger`, sending each
    # request and response as a CloudEvent (the shadow phase of a ModelRollout listens to them).
    stamp="$(_stamp_for kserve "$KSERVE_VERSION")"
    if ! _fresh kserve-agent "$stamp" kserve-agent; then
        _build_in_module kserve-agent github.com/kserve/kserve "$KSERVE_VERSION" ./cmd/agent ""
        rm -rf "$dir/src/kserve-agent"
        echo "$stamp" >"$dir/stamps/kserve-agent"
    fi

    # Prometheus for the cluster's rollout gates (its image copies this binary). Without the
    # `builtinassets` tag the web UI is left out; the HTTP API the operator queries is all there.
    stamp="$(_stamp_for prometheus "$PROMETHEUS_VERSION")"
    if ! _fresh prometheus "$stamp" prometheus; then
        local pv="-X github.com/prometheus/common/version.Version=${PROMETHEUS_RELEASE}"
        pv+=" -X github.com/prometheus/common/version.Branch=release"
        _build_in_module prometheus github.com/prometheus/prometheus "$PROMETHEUS_VERSION" ./cmd/prometheus "$pv"
        rm -rf "$dir/src/prometheus"
        echo "$stamp" >"$dir/stamps/prometheus"
    fi

    # Traefik, the test cluster's Gateway API implementation (its image copies this binary).
    stamp="$(_stamp_for traefik "$TRAEFIK_VERSION")"
    if ! _fresh traefik "$stamp" traefik; then
        _build_in_module traefik github.com/traefik/traefik/v3 "$TRAEFIK_VERSION" ./cmd/traefik \
            "-X github.com/traefik/traefik/v3/pkg/version.Version=${TRAEFIK_VERSION#v}"
        rm -rf "$dir/src/traefik"
        echo "$stamp" >"$dir/stamps/traefik"
    fi

    # The Gateway API's standard-channel CRDs, which the node cluster installs for Traefik to read.
    local gateway_crds="$dir/gateway-api/$GATEWAY_API_VERSION/crds"
    stamp="$(_stamp_for traefik "$GATEWAY_API_VERSION gateway-api")"
    if ! _fresh gateway-api "$stamp" || ! compgen -G "$gateway_crds/*.yaml" >/dev/null; then
        local gsrc
        gsrc="$(cd "$dir/src" && GOFLAGS=-mod=mod "$go_bin" mod download -json \
            "sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
        [[ -d "$gsrc/config/crd/standard" ]] || {
            echo "k8s-tools: sigs.k8s.io/gateway-api@$GATEWAY_API_VERSION did not download" >&2
            return 1
        }
        rm -rf "$gateway_crds"
        mkdir -p "$gateway_crds"
        cp "$gsrc"/config/crd/standard/*.yaml "$gateway_crds/"
        chmod u+w "$gateway_crds"/*.yaml
        echo "k8s-tools: copied the Gateway API $GATEWAY_API_VERSION standard CRDs into $gateway_crds" >&2
        echo "$stamp" >"$dir/stamps/gateway-api"
    fi

    flock -u "$lock_fd"

    printf 'export %s=%q\n' \
        TIPSML_K8S_BIN_DIR "$bin" \
        KUBE_APISERVER "$bin/kube-apiserver" \
        ETCD "$bin/etcd" \
        KUBECTL "$bin/kubectl" \
        HELM "$bin/helm" \
        KUBELET "$bin/kubelet" \
        COREDNS "$bin/coredns" \
        KSERVE_MANAGER "$bin/kserve-manager" \
        KSERVE_AGENT "$bin/kserve-agent" \
        PROMETHEUS "$bin/prometheus" \
        TRAEFIK "$bin/traefik" \
        TIPSML_KSERVE_CONFIG "$dir/kserve/$KSERVE_VERSION/config" \
        TIPSML_GATEWAY_API_CRDS "$dir/gateway-api/$GATEWAY_API_VERSION/crds"
}

if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
    _k8s_tools_main "$@"
else
    # Sourced: build in a child shell so `set -e` there cannot end the caller's shell.
    eval "$(bash "${BASH_SOURCE[0]}" "$@")"
fi
