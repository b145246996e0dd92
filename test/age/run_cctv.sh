#!/bin/sh
# Runs the CCTV age conformance test: exports the vectors of the pinned npm package
# cctv-age (test/node_modules, installed by `npm ci` in test/) into a fresh directory,
# then runs the AgeCctv gtest against it.
# Usage: run_cctv.sh <node> <cctv_export.js> <ramsafe_unit_tests> <work dir>
set -eu
if [ "$#" -ne 4 ]; then
  echo "usage: $0 <node> <cctv_export.js> <ramsafe_unit_tests> <work dir>" >&2
  exit 2
fi
node=$1
exporter=$2
tests=$3
dir=$4

rm -rf "$dir"
mkdir -p "$dir"
"$node" "$exporter" "$dir"
RAMSAFE_CCTV_DIR=$dir
export RAMSAFE_CCTV_DIR
exec "$tests" --gtest_filter='AgeCctv.*' --gtest_brief=0
