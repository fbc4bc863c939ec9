#!/usr/bin/env bash
# THE one command that runs the broker for a newcomer: a development server on http://127.0.0.1:8200,
# in memory, initialized and unsealed, with the root token "root" (or $LEASEHOLD_DEV_ROOT_TOKEN).
# Extra arguments are passed to `leasehold server`, e.g. scripts/dev.sh -dev-listen-address=127.0.0.1:8299
# Never use dev mode for real credentials: nothing is persisted and the root token is known.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

# PostgreSQL is not needed by the dev server itself, but it is the database that credentials will be issued for.
if [[ ${EUID} -eq 0 ]]; then
    scripts/setup-debian.sh
elif command -v sudo >/dev/null 2>&1; then
    sudo --preserve-env=PATH scripts/setup-debian.sh
else
    echo "dev.sh: not root and no sudo; skipping scripts/setup-debian.sh" >&2
fi

swift build --product leasehold
BIN_PATH=$(swift build --show-bin-path)
exec "${BIN_PATH}/leasehold" server -dev -dev-root-token-id="${LEASEHOLD_DEV_ROOT_TOKEN:-root}" "$@"
