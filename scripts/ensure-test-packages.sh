#!/usr/bin/env bash
# Installs the Debian packages the tests use, when they are missing: promtool (package prometheus) checks
# /metrics and the alerting rules; Python's grpcio and protobuf play a client the project did not write;
# chromium is the real browser the status page is tested in (driven by playwright-core, never downloaded);
# e2fsprogs, util-linux and mount make and freeze a small ext4 disk (a stalled journal). Needs root and apt-get;
# otherwise it names the packages to install and fails.
set -euo pipefail
packages=()
command -v promtool >/dev/null 2>&1 || packages+=(prometheus)
[ -x /usr/bin/chromium ] || packages+=(chromium)
/usr/bin/python3 -c 'import grpc, google.protobuf' >/dev/null 2>&1 || packages+=(python3-grpcio python3-protobuf)
# A real ext4 disk in a file, mounted through a loop device and frozen: the audit journal's stalled disk.
PATH="$PATH:/usr/sbin:/sbin" command -v mkfs.ext4 >/dev/null 2>&1 || packages+=(e2fsprogs)
PATH="$PATH:/usr/sbin:/sbin" command -v fsfreeze >/dev/null 2>&1 || packages+=(util-linux)
PATH="$PATH:/usr/sbin:/sbin" command -v losetup >/dev/null 2>&1 || packages+=(mount)
[ "${#packages[@]}" -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "the tests need these Debian packages: ${packages[*]} (as root: apt-get install ${packages[*]})" >&2
  exit 1
fi
echo "installing Debian packages the tests use: ${packages[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
