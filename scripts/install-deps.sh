#!/usr/bin/env bash
# Installs the Debian 12 packages llmtrace needs to build, test and run
# (as root; otherwise it only checks and says what is missing).
set -euo pipefail
PGV=${PG_MAJOR:-15}
pkgs=(build-essential cmake pkg-config clang libclang-rt-14-dev libgtest-dev
      nlohmann-json3-dev libsimdjson-dev libpq-dev libcurl4-openssl-dev python3
      "postgresql-$PGV" "postgresql-server-dev-$PGV" postgresql-client-common
      "postgresql-$PGV-cron" libcpp-httplib-dev libssl-dev zlib1g-dev nodejs
      prometheus-postgres-exporter chromium fonts-dejavu-core curl)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
    echo "missing packages: ${missing[*]} (run as root, or: sudo apt-get install -y ${missing[*]})" >&2
    exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
