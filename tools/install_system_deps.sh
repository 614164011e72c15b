#!/usr/bin/env bash
# Installs the Debian packages that the browser, SLURM and live-metafor tests use, when we are root
# with apt (R's metafor 3.8-1 is the version the committed reference fixtures came from).
# Never fails the build: the tests that need these packages skip with a clear reason instead.
set -u
PKGS=(chromium slurmd slurmctld slurm-client munge r-cran-metafor r-cran-metadat r-cran-jsonlite r-cran-gsl r-cran-numderiv r-cran-clubsandwich)
missing=()
for p in "${PKGS[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "system-deps: not root or no apt-get; skipping ${missing[*]} (their tests will skip)"
  exit 0
fi
echo "system-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq >/dev/null 2>&1 || true
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null || \
  echo "system-deps: apt-get install failed for ${missing[*]} (their tests will skip)"
exit 0
