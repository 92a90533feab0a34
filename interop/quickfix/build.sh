#!/usr/bin/env bash
# Builds the QuickFIX peers of the Tandem FIX interop test.
#
#   interop/quickfix/build.sh OUTDIR
#
# Produces OUTDIR/executor and OUTDIR/initiator.  Needs g++ and Debian's
# libquickfix-dev (1.15.1; its headers need -std=c++14, not C++17).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ $# -ne 1 || -z "$1" ]]; then
  echo "usage: $0 OUTDIR" >&2
  exit 2
fi
out="$1"

if [[ ! -f /usr/include/quickfix/Session.h ]]; then
  echo "build.sh: /usr/include/quickfix is missing - install libquickfix-dev (apt-get install libquickfix-dev)" >&2
  exit 2
fi
cxx="${CXX:-g++}"
if ! command -v "$cxx" >/dev/null 2>&1; then
  echo "build.sh: no C++ compiler ($cxx) - install g++" >&2
  exit 2
fi

mkdir -p "$out"
# -Wno-deprecated: QuickFIX 1.15 headers use dynamic exception specifications.
flags=(-std=c++14 -O1 -Wall -Wno-deprecated -pthread -I"$here")
for prog in executor initiator; do
  echo "build.sh: $cxx ${flags[*]} -o $out/$prog $here/$prog.cpp -lquickfix" >&2
  "$cxx" "${flags[@]}" -o "$out/$prog" "$here/$prog.cpp" -lquickfix
done
echo "build.sh: built $out/executor $out/initiator" >&2
