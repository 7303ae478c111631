#!/usr/bin/env bash
# Build the systemd test-host images (Debian 12 and 13) with mmdebstrap and import
# them into podman. An image is rebuilt only when this script changes (its hash is
# stored as an image label), so a second run costs a second.
set -euo pipefail

export CONTAINERS_CONF="${CONTAINERS_CONF:-$(cd "$(dirname "$0")/.." && pwd)/tests/podman/containers.conf}"
MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
PACKAGES="python3,python3-apt,python3-yaml,openssl,systemd,systemd-sysv,dbus,sudo,iproute2,procps,kmod,ca-certificates,openssh-server,cron,gpg,age"
recipe_hash="$(sha256sum "$0" | cut -c1-16)"

build() {
  local suite="$1" image="$2"
  if [ "$(podman image inspect --format '{{ index .Labels "homelab.recipe" }}' "$image" 2>/dev/null || true)" = "$recipe_hash" ]; then
    echo "image $image is up to date"
    return 0
  fi
  echo "building $image from Debian $suite"
  local tarball
  tarball="$(mktemp --suffix=.tar)"
  # The hooks run in a shell of their own where $1 is the new root: keep them single-quoted.
  # shellcheck disable=SC2016
  mmdebstrap --variant=minbase --include="$PACKAGES" \
    --skip=cleanup/apt/lists \
    --customize-hook='chroot "$1" systemctl mask getty@tty1.service serial-getty@.service console-getty.service e2scrub_all.timer e2scrub_reap.service apt-daily.timer apt-daily-upgrade.timer fstrim.timer systemd-remount-fs.service' \
    --customize-hook='truncate -s 0 "$1/etc/machine-id"; rm -f "$1/var/lib/dbus/machine-id"' \
    "$suite" "$tarball" \
    "deb $MIRROR $suite main" \
    "deb $MIRROR $suite-updates main" \
    "deb $SECURITY_MIRROR $suite-security main" >"$tarball.log" 2>&1 || { cat "$tarball.log" >&2; exit 1; }
  rm -f "$tarball.log"
  local old_id tmp_image="$image-build-$$"
  old_id="$(podman image inspect --format '{{ .Id }}' "$image" 2>/dev/null || true)"
  podman import \
    --change 'CMD ["/sbin/init"]' \
    --change 'STOPSIGNAL SIGRTMIN+3' \
    --change "LABEL homelab.recipe=$recipe_hash" \
    --change "LABEL homelab.suite=$suite" \
    "$tarball" "$tmp_image" >/dev/null 2>&1
  podman tag "$tmp_image" "$image"
  podman rmi "$tmp_image" >/dev/null
  # The previous build, unless a container still uses it.
  [ -z "$old_id" ] || podman rmi "$old_id" >/dev/null 2>&1 || true
  rm -f "$tarball"
  echo "built $image"
}

build bookworm localhost/homelab-debian12:latest
build trixie localhost/homelab-debian13:latest
