#!/usr/bin/env bash
# Sets up Podman as the Docker API that testcontainers-go talks to, on Debian,
# as root, on machines without a Docker engine or registry. Idempotent: on a
# machine already set up it changes nothing and leaves the service running.
# Prints the DOCKER_HOST to use.
set -euo pipefail

SOCK=${PODMAN_SOCK:-/run/podman/podman.sock}

if [ "$(id -u)" -ne 0 ]; then
  echo "podman-setup: run as root (it installs packages and writes /etc/containers)" >&2
  exit 1
fi

need=()
for p in podman runc debootstrap; do
  # dpkg -s succeeds for a removed package whose configuration remains.
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if ((${#need[@]})); then
  echo "== podman-setup: installing ${need[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# crun fails on this cgroup layout, the systemd cgroup manager is absent, the
# journal is not there for events, and the default ulimits exceed what root
# may set here.
conf=/etc/containers/containers.conf
want='# kcconform: podman-setup.sh
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=32768:32768"]

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"'
if [ "$(cat "$conf" 2>/dev/null)" != "$want" ]; then
  mkdir -p /etc/containers
  [ -f "$conf" ] && cp "$conf" "$conf.before-kcconform"
  printf '%s\n' "$want" > "$conf"
  echo "== podman-setup: wrote $conf" >&2
fi

# The Docker API service.
ping() { curl -sf --max-time 2 --unix-socket "$SOCK" http://d/_ping >/dev/null 2>&1; }
# conmon inherits the service's working directory and fails every container
# start ("write child: broken pipe") once that directory is gone, as a
# deleted clone's is: such a service is replaced, and a new one runs from /.
for pid in $(pgrep -f "podman system service .*$SOCK" || true); do
  if [[ "$(readlink "/proc/$pid/cwd" 2>/dev/null)" == *" (deleted)" ]]; then
    echo "== podman-setup: the Docker API service's working directory is gone; restarting it" >&2
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  fi
done
if ! ping; then
  mkdir -p "$(dirname "$SOCK")"
  rm -f "$SOCK"
  (cd / && exec nohup podman system service --time=0 "unix://$SOCK" >/var/log/podman-service.log 2>&1) &
  for _ in $(seq 1 50); do ping && break; sleep 0.2; done
  ping || { echo "podman-setup: the Docker API did not answer on $SOCK; see /var/log/podman-service.log" >&2; exit 1; }
  echo "== podman-setup: Docker API on unix://$SOCK" >&2
fi
echo "unix://$SOCK"
