#!/usr/bin/env bash
# The dashboard's charting library, uPlot, is vendored: its built files are committed under
# vendor/ and compiled into llmtrace-gateway, so neither the build nor the page needs the
# network. This script re-creates them from the version pinned in package-lock.json:
#   bash tools/gateway/web/vendor.sh           npm ci, copy the dist files and the license into
#                                              vendor/, write vendor/README with the sha256 of each
#   bash tools/gateway/web/vendor.sh --check   compare vendor/ with node_modules (and with the
#                                              sha256 written in vendor/README); exit 1 if they differ
# To move to another version: change it in package.json, `npm install`, then run this script.
set -euo pipefail
cd "$(dirname "$0")"
# vendored name <- file in the npm package
files=("uPlot.iife.min.js:dist/uPlot.iife.min.js" "uPlot.min.css:dist/uPlot.min.css" "uPlot.LICENSE:LICENSE")
pkg=node_modules/uplot

if [ "${1:-}" = --check ]; then
    status=0
    [ -d "$pkg" ] || { echo "vendor.sh --check: $PWD/$pkg is missing (run npm ci here)" >&2; exit 2; }
    want=$(node -p 'require("./package-lock.json").packages["node_modules/uplot"].version')
    have=$(node -p 'require("./'"$pkg"'/package.json").version')
    if [ "$want" != "$have" ]; then echo "node_modules has uplot $have, package-lock.json pins $want" >&2; status=1; fi
    for f in "${files[@]}"; do
        if cmp -s "vendor/${f%%:*}" "$pkg/${f#*:}"; then echo "same: vendor/${f%%:*} = uplot@$have ${f#*:}"; else
            echo "DIFFERENT: vendor/${f%%:*} is not uplot@$have ${f#*:}" >&2
            status=1
        fi
        sum=$(sha256sum "vendor/${f%%:*}" | cut -d' ' -f1)
        if ! grep -q "^$sum  ${f%%:*}\$" vendor/README; then echo "vendor/README does not list sha256 $sum for ${f%%:*}" >&2; status=1; fi
    done
    exit $status
fi

npm ci --no-audit --no-fund --loglevel=error
version=$(node -p 'require("./'"$pkg"'/package.json").version')
mkdir -p vendor
for f in "${files[@]}"; do cp "$pkg/${f#*:}" "vendor/${f%%:*}"; done
{
    echo "uPlot $version (npm package uplot@$version, MIT license: uPlot.LICENSE)"
    echo "Copied from the npm package by tools/gateway/web/vendor.sh; do not edit. sha256:"
    for f in "${files[@]}"; do (cd vendor && sha256sum "${f%%:*}"); done
} >vendor/README
cat vendor/README
