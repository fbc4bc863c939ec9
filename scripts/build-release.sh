#!/usr/bin/env bash
# Builds the release binary: .build-release/release/leasehold (extra arguments go to `swift build`).
#
# How it is linked, for memory (figures and reasons in docs/performance.md, "How the release binary is linked"):
#   - the Swift runtime and Foundation are linked in (--static-swift-stdlib): one self-contained binary that needs
#     no Swift toolchain on the server, and whose code the linker can lay out;
#   - every function gets its own section, and lld places first the functions that start-up, configuration and
#     the common requests run (scripts/text-order.txt, written by scripts/text-order.py), so the code an idle
#     broker has touched sits in contiguous pages instead of being spread over 20 MB of machine code;
#   - relative relocations are packed (DT_RELR, glibc 2.36 and later): 2 MB of relocation records that the loader
#     reads at every start become 20 KB.
# A stale or missing name in the order file only costs memory; it never changes what the program does.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

SCRATCH=.build-release
FLAGS=(--static-swift-stdlib -Xswiftc -Xfrontend -Xswiftc -function-sections -Xcc -ffunction-sections
       -Xswiftc -use-ld=lld -Xlinker -z -Xlinker pack-relative-relocs)
ORDER=(-Xlinker --no-warn-symbol-ordering -Xlinker "--symbol-ordering-file=$(pwd)/scripts/text-order.txt")

# SwiftPM neither recompiles Swift objects when only the compiler flags change nor relinks when only the order
# file changes: start the objects over when the flags differ, and relink when the order file differs.
STAMP="${SCRATCH}/release-flags"
WANTED="${FLAGS[*]} order:$(sha256sum scripts/text-order.txt | cut -c1-64)"
if [[ -d ${SCRATCH} ]]; then
    BUILT=$(cat "${STAMP}" 2>/dev/null || true)
    if [[ ${BUILT% order:*} != "${FLAGS[*]}" ]]; then
        echo "build-release.sh: compiler flags changed; rebuilding the release objects" >&2
        rm -rf "${SCRATCH}"/*-unknown-linux-gnu/release
    elif [[ ${BUILT} != "${WANTED}" ]]; then
        rm -f "${SCRATCH}"/*-unknown-linux-gnu/release/leasehold
    fi
fi

swift build -c release --product leasehold --scratch-path "${SCRATCH}" "${FLAGS[@]}" "${ORDER[@]}" "$@"
echo "${WANTED}" >"${STAMP}"
