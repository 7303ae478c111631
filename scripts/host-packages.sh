#!/usr/bin/env bash
# Install the Debian packages the test harness and the lab need on this machine
# (podman and friends for the systemd test hosts, mmdebstrap to build their images,
# ShellCheck for ansible-test sanity, the SSH client and openssl for the tests).
# Only missing packages are installed.
set -euo pipefail
packages=(podman runc slirp4netns uidmap fuse-overlayfs mmdebstrap shellcheck rsync git openssh-client openssl openssh-server)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  echo "host packages are installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "missing Debian packages: ${missing[*]}; run as root or install them with apt-get" >&2
  exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
