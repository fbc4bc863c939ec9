#!/usr/bin/env python3
"""Writes scripts/text-order.txt, the order in which scripts/build-release.sh lays out the functions of the binary.

    scripts/text-order.py            # about 15 minutes: an instrumented build, runs, a few relinks

Needs the local PostgreSQL of scripts/setup-debian.sh and `perf` (Debian package linux-perf).

It builds Leasehold with a call at the entry of every function (LLVM's SanitizerCoverage, which swiftc accepts only
with AddressSanitizer; scratch folder .build-coverage), runs it against the local PostgreSQL the way the benchmark
does, and lists every function that ran, compiler-made ones included (metadata accessors, value witnesses, thunks,
specializations: most of what start-up touches, and what a source-level profile does not count):
  1. start-up: start, initialize, mount the database engine, write a connection and four roles, stop;
  2. requests: issue, renew, look up and revoke credentials with both role templates, create tokens, log in with
     AppRole, revoke by prefix, let the reaper expire leases, and start again with leases in the store;
  3. settling, on the real release binary: a few rounds of linking with the order so far, tracing start-up's page
     faults (`perf record -e page-faults -d`), and adding to the start-up group each function whose first run
     faulted code in but is not listed. Coverage cannot see the Swift runtime and Foundation, which are linked in,
     and the instrumented build merges and specializes a few functions differently; the faults show them.
The file lists the start-up group first, then the functions only the requests ran; the linker places them in this
order at the start of the code, so what an idle broker has touched is contiguous. Names that no longer exist are
ignored by the linker: regenerate the file when start-up changes, for memory, never for correctness.
"""

import bisect
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(REPO, "Benchmarks"))

from benchlib import pg, workloads  # noqa: E402
from benchlib.servers import LeaseholdServer, log  # noqa: E402

SCRATCH = os.path.join(REPO, ".build-coverage")
OUTPUT = os.path.join(REPO, "scripts", "text-order.txt")
RELEASE_BINARY = os.path.join(REPO, ".build-release", "release", "leasehold")
SETTLE_ROUNDS = 6
# `perf script -F addr,ip,sym,dso`: the faulting address with its symbol and file, then the instruction pointer's.
FAULT_LINE = re.compile(r"\s*([0-9a-f]+)\s+.*?\s+\(\S+\)\s+([0-9a-f]+)\s+(.*?)\s+\((\S+)\)\s*$")


def build_instrumented() -> str:
    """The release binary with a coverage callback at the entry of every Swift and C function."""
    coverage = "func,trace-pc-guard"
    subprocess.run(["swift", "build", "-c", "release", "--product", "leasehold", "--scratch-path", SCRATCH,
                    "-Xswiftc", "-sanitize=address", "-Xswiftc", f"-sanitize-coverage={coverage}",
                    "-Xcc", "-fsanitize=address", "-Xcc", f"-fsanitize-coverage={coverage}"],
                   cwd=REPO, check=True, stdout=sys.stderr)
    return os.path.join(SCRATCH, "release", "leasehold")


def started(server: LeaseholdServer, pg_server, admin_password: str) -> LeaseholdServer:
    """The broker started, initialized and configured as the benchmark configures it."""
    server.initialize()
    workloads.configure(server, pg_server, admin_password, reap_ttl=5)
    return server


def stop(server: LeaseholdServer):
    """SIGTERM and a normal exit, which is when AddressSanitizer writes the coverage."""
    server.process.send_signal(signal.SIGTERM)
    if server.process.wait(timeout=120) != 0:
        sys.exit(f"text-order.py: the broker exited with {server.process.returncode}")


def start_up(binary, folder, pg_server, admin_password):
    """Start, initialize, configure as the benchmark does, stop."""
    server = started(LeaseholdServer(os.path.join(folder, "start-up"), binary), pg_server, admin_password)
    time.sleep(3)
    stop(server)


def requests(binary, folder, pg_server, admin_password):
    """A little of every request the benchmark makes, the reaper at work, and a restart with leases."""
    server = started(LeaseholdServer(os.path.join(folder, "requests"), binary), pg_server, admin_password)
    api = server.token_api()
    for template in workloads.TEMPLATES:
        issued = workloads.issue(server, template, 50, 4)
        for payload in issued.payloads[:3]:
            api.must("PUT", "sys/leases/renew", {"lease_id": payload["lease_id"], "increment": 60})
            api.must("PUT", "sys/leases/lookup", {"lease_id": payload["lease_id"]})
            api.must("PUT", "sys/leases/revoke", {"lease_id": payload["lease_id"]})
    workloads.token_create(server, 2)
    workloads.approle_login(server, workloads.approle_setup(server), 2)
    api.must("PUT", "sys/leases/revoke-prefix/" + workloads.CREDS_PREFIX, {})
    workloads.issue(server, "group", 20, 4, "-reap")
    time.sleep(15)
    workloads.issue(server, "group", 20, 4)
    stop(server)
    server.restart()
    server.wait_unsealed(time.monotonic() + 60)
    api.must("GET", workloads.CREDS_PREFIX + workloads.role_name("group"))
    workloads.forget_and_drop(server, pg_server)
    stop(server)


class Symbols:
    """The function symbols of a binary by address, to name the offsets a coverage file lists."""

    def __init__(self, binary: str):
        listing = subprocess.run(["nm", "--defined-only", "--numeric-sort", binary], check=True,
                                 capture_output=True, text=True).stdout
        entries = []
        for line in listing.splitlines():
            fields = line.split()
            if len(fields) == 3 and fields[1] in "tTwW":
                entries.append((int(fields[0], 16), fields[2]))
        self.addresses = [address for address, _ in entries]
        self.names = [name for _, name in entries]

    def containing(self, offset: int):
        index = bisect.bisect_right(self.addresses, offset) - 1
        return self.names[index] if index >= 0 else None


def executed(symbols: Symbols, coverage_files: list) -> list:
    """The functions that ran, sorted: a .sancov file is a magic number, then the 64-bit offsets (from the start
    of the binary) of the coverage calls that ran, one per function."""
    names = set()
    for path in coverage_files:
        with open(path, "rb") as coverage:
            data = coverage.read()
        if len(data) < 8 or struct.unpack_from("<Q", data)[0] != 0xC0BFFFFFFFFFFF64:
            sys.exit(f"text-order.py: {path} is not a 64-bit coverage file")
        for (offset,) in struct.iter_unpack("<Q", data[8:]):
            name = symbols.containing(offset)
            if name and not name.startswith(("__asan", "__sanitizer", "asan.", "sancov.")):
                names.add(name)
    return sorted(names)


class FaultTracedServer(LeaseholdServer):
    """The release broker under `perf record`: one sample per page fault, with the faulting address."""

    def __init__(self, workdir: str, binary: str, data: str):
        super().__init__(workdir, binary)
        self.data = data

    def command(self) -> list:
        return ["perf", "record", "--quiet", "-e", "page-faults", "-c", "1", "-d", "-o", self.data] + super().command()


def first_touched_at_start_up(folder: str, pg_server, admin_password: str) -> list:
    """The functions of the release binary whose first run faulted a page of code in during start-up and
    configuration, in the order of the faults."""
    workdir = tempfile.mkdtemp(dir=folder)
    data = os.path.join(workdir, "faults.data")
    server = started(FaultTracedServer(os.path.join(workdir, "broker"), RELEASE_BINARY, data), pg_server,
                     admin_password)
    time.sleep(3)
    server.process.send_signal(signal.SIGINT)
    server.process.wait(timeout=120)
    listing = subprocess.run(["perf", "script", "-i", data, "-F", "addr,ip,sym,dso"], check=True,
                             capture_output=True, text=True).stdout
    binary, names = os.path.realpath(RELEASE_BINARY), []
    for line in listing.splitlines():
        match = FAULT_LINE.match(line)
        # An instruction fetch: the faulting address is the instruction pointer, inside our binary.
        if match and match.group(1) == match.group(2) and match.group(3) != "[unknown]" \
                and os.path.realpath(match.group(4)) == binary and match.group(3) not in names:
            names.append(match.group(3))
    return names


def write_order(names: list):
    """Replaces the order file atomically, one symbol per line."""
    with open(OUTPUT + ".tmp", "w") as out:
        out.writelines(f"{name}\n" for name in names)
    os.replace(OUTPUT + ".tmp", OUTPUT)


def settle(start_up_names: list, request_names: list, folder: str, pg_server, admin_password: str) -> list:
    """Adds to the start-up group what its page faults show is missing; returns the extended group."""
    group = list(start_up_names)
    for round_number in range(1, SETTLE_ROUNDS + 1):
        listed = set(group)
        write_order(group + [name for name in request_names if name not in listed])
        subprocess.run([os.path.join(REPO, "scripts", "build-release.sh")], cwd=REPO, check=True, stdout=sys.stderr)
        missing = [name for name in first_touched_at_start_up(folder, pg_server, admin_password)
                   if name not in listed]
        log(f"text order: settling round {round_number}: {len(missing)} functions faulted in unlisted")
        if not missing:
            break
        group += missing
    return group


def main() -> int:
    binary = build_instrumented()
    symbols = Symbols(binary)
    pg_server = pg.PgServer()
    pg.wait_for_server(pg_server)
    admin_password = pg.prepare_target(pg_server)
    folder = tempfile.mkdtemp(prefix="leasehold-text-order-")
    os.chmod(folder, 0o700)
    groups = []
    try:
        for phase in (start_up, requests):
            output = os.path.join(folder, phase.__name__)
            os.makedirs(output)
            # Leaks are not this tool's business; every other AddressSanitizer finding stops the run.
            os.environ["ASAN_OPTIONS"] = f"coverage=1:coverage_dir={output}:detect_leaks=0"
            log(f"text order: {phase.__name__}")
            phase(binary, folder, pg_server, admin_password)
            groups.append(executed(symbols, [os.path.join(output, name) for name in sorted(os.listdir(output))
                                             if name.startswith("leasehold.") and name.endswith(".sancov")]))
        os.environ.pop("ASAN_OPTIONS", None)
        start_up_group = settle(groups[0], groups[1], folder, pg_server, admin_password)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    listed = set(start_up_group)
    ordered = start_up_group + [name for name in groups[1] if name not in listed]
    write_order(ordered)
    log(f"text order: {len(start_up_group)} start-up functions ({len(start_up_group) - len(groups[0])} found by "
        f"their page faults), {len(ordered) - len(start_up_group)} more for requests; wrote "
        f"{os.path.relpath(OUTPUT, REPO)}; run scripts/build-release.sh to link with it")
    print(json.dumps({"start_up": len(start_up_group), "requests": len(ordered) - len(start_up_group)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
