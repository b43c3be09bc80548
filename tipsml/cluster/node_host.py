"""What the node changes on the host, and how ``down`` takes exactly that back.

``up`` records, before it changes anything, the sysctls it sets, the network namespaces and iptables chains
that already exist; ``down`` removes only what appeared since (the Pods' namespaces, the ``KUBE-*`` and
``CNI-*`` chains the kubelet, kube-proxy and the CNI plugins made), the bridge, the node's mounts and its
cgroups, and restores the sysctls.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Final

from tipsml.cluster.node_files import BRIDGE, NODE_IP, POD_CIDR

SYSCTLS: Final = {
    "net/ipv4/ip_forward": "1",
    # Pod-to-Service traffic on one bridge must pass iptables for kube-proxy's NAT to apply.
    "net/bridge/bridge-nf-call-iptables": "1",
}
CHAIN_PREFIXES: Final = ("KUBE-", "CNI-")
TABLES: Final = ("filter", "nat", "mangle")
NETNS_DIRS: Final = (Path("/run/netns"), Path("/var/run/netns"))
CGROUP_ROOT: Final = Path("/sys/fs/cgroup")


class HostSetupError(Exception):
    """The host could not be prepared for the node (a module, a sysctl, the bridge)."""


def _run(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if check and result.returncode != 0:
        raise HostSetupError(f"{' '.join(argv)} exited {result.returncode}: {result.stderr.strip()}")
    return result


def snapshot(path: Path) -> None:
    """Record what exists before ``up`` changes the host (``down`` reads it back)."""
    sysctls = {key: _read_sysctl(key) for key in SYSCTLS}
    record = {"sysctls": sysctls, "netns": sorted(_netns_names()), "chains": _chains()}
    path.write_text(json.dumps(record, indent=2) + "\n")


def prepare() -> None:
    """Load ``br_netfilter``, set the sysctls and create the bridge with the node's address."""
    if not Path("/proc/sys/net/bridge").exists():
        _run("modprobe", "br_netfilter")
    for key, value in SYSCTLS.items():
        Path("/proc/sys", key).write_text(value)
    if _run("ip", "link", "show", BRIDGE, check=False).returncode != 0:
        _run("ip", "link", "add", BRIDGE, "type", "bridge")
    prefix = POD_CIDR.split("/")[1]
    if f"{NODE_IP}/{prefix}" not in _run("ip", "-o", "addr", "show", "dev", BRIDGE).stdout:
        _run("ip", "addr", "add", f"{NODE_IP}/{prefix}", "dev", BRIDGE)
    _run("ip", "link", "set", BRIDGE, "up")


def restore(snapshot_path: Path, owned_dirs: list[Path]) -> list[str]:
    """Undo :func:`prepare` and what the node made since :func:`snapshot`; returns what was removed."""
    try:
        before = json.loads(snapshot_path.read_text())
    except FileNotFoundError:
        before = {"sysctls": {}, "netns": [], "chains": {}}
    removed: list[str] = []
    for mount in mounts_under(owned_dirs) + _new_netns_mounts(set(before["netns"])):
        if _run("umount", mount, check=False).returncode != 0:
            _run("umount", "-l", mount, check=False)
        removed.append(f"mount {mount}")
    for name in sorted(_netns_names() - set(before["netns"])):
        _run("ip", "netns", "delete", name, check=False)
        removed.append(f"netns {name}")
    removed += _drop_chains({t: set(c) for t, c in before["chains"].items()})
    if _run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        _run("ip", "link", "delete", BRIDGE, check=False)
        removed.append(f"link {BRIDGE}")
    removed += _remove_cgroups()
    for key, value in before["sysctls"].items():
        if value is not None:
            with contextlib.suppress(OSError):
                Path("/proc/sys", key).write_text(value)
    return removed


def leftovers(snapshot_path: Path, owned_dirs: list[Path]) -> list[str]:
    """What the node changed on the host that is still there (empty after a clean ``down``)."""
    before = json.loads(snapshot_path.read_text())
    left = [f"mount {m}" for m in mounts_under(owned_dirs) + _new_netns_mounts(set(before["netns"]))]
    left += [f"netns {n}" for n in sorted(_netns_names() - set(before["netns"]))]
    for table, chains in _chains().items():
        left += [f"iptables {table} {c}" for c in chains if c not in set(before["chains"].get(table, []))]
    if _run("ip", "link", "show", BRIDGE, check=False).returncode == 0:
        left.append(f"link {BRIDGE}")
    return left


def mounts_under(dirs: list[Path]) -> list[str]:
    """Mount points at or below any of ``dirs``, deepest first (the order to unmount them in)."""
    roots = [str(d.resolve()) for d in dirs]
    found = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4].replace("\\040", " ")
        if any(point == r or point.startswith(r + "/") for r in roots):
            found.append(point)
    return sorted(set(found), key=lambda p: p.count("/"), reverse=True)


def _new_netns_mounts(existing: set[str]) -> list[str]:
    points = []
    for line in Path("/proc/self/mountinfo").read_text().splitlines():
        point = line.split()[4]
        for folder in NETNS_DIRS:
            if point.startswith(f"{folder}/") and Path(point).name not in existing:
                points.append(point)
    return points


def _netns_names() -> set[str]:
    names: set[str] = set()
    for folder in NETNS_DIRS:
        with contextlib.suppress(FileNotFoundError):
            names |= {p.name for p in folder.iterdir()}
    return names


def _read_sysctl(key: str) -> str | None:
    try:
        return Path("/proc/sys", key).read_text().strip()
    except OSError:
        return None


def _chains() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for table in TABLES:
        out = _run("iptables", "-w", "-t", table, "-S", check=False).stdout
        found[table] = sorted(
            line.split()[1] for line in out.splitlines()
            if line.startswith("-N ") and line.split()[1].startswith(CHAIN_PREFIXES)
        )  # fmt: skip
    return found


def _drop_chains(existing: dict[str, set[str]]) -> list[str]:
    """Delete the rules that jump to new ``KUBE-*``/``CNI-*`` chains, then flush and delete those chains."""
    removed = []
    for table, chains in _chains().items():
        new = [c for c in chains if c not in existing.get(table, set())]
        if not new:
            continue
        rules = _run("iptables", "-w", "-t", table, "-S", check=False).stdout.splitlines()
        for rule in rules:
            parts = shlex.split(rule)
            if parts[:1] == ["-A"] and parts[1] not in new and any(f"-j {c}" in rule for c in new):
                _run("iptables", "-w", "-t", table, "-D", *parts[1:], check=False)
        for chain in new:
            _run("iptables", "-w", "-t", table, "-F", chain, check=False)
        for chain in new:
            _run("iptables", "-w", "-t", table, "-X", chain, check=False)
            removed.append(f"iptables {table} {chain}")
    return removed


def _remove_cgroups() -> list[str]:
    """The kubelet's ``kubepods`` hierarchy in every cgroup v1 controller, children first."""
    removed = []
    for controller in CGROUP_ROOT.iterdir() if CGROUP_ROOT.is_dir() else []:
        top = controller / "kubepods"
        if not top.is_dir() or top.is_symlink():
            continue
        for folder, _, _ in sorted(os.walk(top), key=lambda w: w[0].count("/"), reverse=True):
            with contextlib.suppress(OSError):
                os.rmdir(folder)
        if not top.exists():
            removed.append(f"cgroup {top}")
    return removed
