#!/usr/bin/env bash
# Provision and start the embedded Kubernetes cluster for the Kubernetes stage (issue 16).
#
#   bash .ci/k8s.sh        # after .ci/docker.sh and `make setup`
#
# Installs the node's system packages from Debian (etcd, CNI plugins, conntrack, ipset,
# socat) and the build's (rsync, dpkg-dev, gcc), then `labkit k8s up`: the first run builds
# kube-apiserver .. kube-proxy from Debian's source package into ~/.cache/labkit/k8s (about
# 8 minutes on 2 cores; later runs reuse it) and waits for node-1 Ready. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(id -u)" != "0" ]; then
    echo "k8s.sh: needs root (kubelet, kube-proxy and the CNI bridge change host settings)" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
packages=(etcd-server containernetworking-plugins conntrack ipset socat iptables iproute2 rsync dpkg-dev gcc libc6-dev)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    echo "k8s.sh: installing ${missing[*]}"
    apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
started=$(date +%s)
.venv/bin/labkit k8s up
echo "k8s.sh: cluster ready after $(( $(date +%s) - started ))s"
