#!/usr/bin/env bash
# Writes the CycloneDX SBOM of Shipgate's production dependencies to $1 (default sbom.cdx.json).
#
# `npm sbom --omit dev` alone drops production packages that a devDependency also reaches
# (npm/cli#7909: here @octokit/auth-app, @octokit/core and 100 more). So the SBOM is taken from
# what the image really holds: a production-only install of the lock file, with devDependencies
# then removed from its package.json so no dev edge is left to confuse the selector.
# The Dockerfile runs the same three steps on its pruned node_modules.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
out="$(realpath -m "${1:-sbom.cdx.json}")"
stage="$(mktemp -d)"
trap 'rm -rf "$stage"' EXIT
cp "$repo/package.json" "$repo/package-lock.json" "$stage/"
cd "$stage"
npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --loglevel=error >/dev/null
npm pkg delete devDependencies
npm sbom --sbom-format cyclonedx --omit dev >"$out"
