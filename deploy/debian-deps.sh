#!/bin/sh
#  debian-deps.sh - install the Debian 12 packages sheaf needs to build,
#  test and run, and nothing that is already there. Uses sudo when not root.
set -eu

PACKAGES="make gcc libc6-dev pkg-config libczmq-dev libzmq3-dev libmsgpack-dev \
libjansson-dev libpq-dev zlib1g-dev check postgresql tzdata"

missing=""
for package in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $package"
    fi
done
if [ -z "$missing" ]; then
    echo "debian-deps: every package is installed"
    exit 0
fi
sudo=""
[ "$(id -u)" = 0 ] || sudo=sudo
echo "debian-deps: installing$missing"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
