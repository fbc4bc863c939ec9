"""The one table: each figure for Leasehold and OpenBao, the PostgreSQL limit, ratios, target and verdict."""

import math

PRIMARY, OTHER = "Leasehold", "OpenBao"


def _number(value):
    """A float, or None when missing / not a number."""
    if value is None or isinstance(value, str):
        return None
    value = float(value)
    return None if math.isnan(value) else value


def _fmt(value, digits=1):
    """Table text of a value."""
    if isinstance(value, str):
        return value
    number = _number(value)
    if number is None:
        return "-"
    return f"{number:,.{digits}f}" if abs(number) < 1000 else f"{number:,.0f}"


def _ratio(a, b):
    a, b = _number(a), _number(b)
    return f"{a / b:.2f}x" if a is not None and b else "-"


class Table:
    """Rows of (figure, values per server, limit, target text, verdict)."""

    def __init__(self, servers):
        self.servers = servers
        self.rows = []

    def add(self, figure, values: dict, limit=None, target="", met=None, digits=1):
        """One figure; `met` is True/False/None (no target or not measurable)."""
        self.rows.append({"figure": figure, "values": values, "limit": limit, "target": target,
                          "met": met, "digits": digits})

    def verdict(self, met):
        return "" if met is None else ("met" if met else "NOT MET")

    def render(self) -> str:
        """Plain-text table (markdown pipes, so it pastes into docs/performance.md)."""
        head = ["figure", *self.servers, "limit", f"{PRIMARY}/{OTHER}", f"{PRIMARY}/limit", "target", "met"]
        lines = [head]
        for row in self.rows:
            values = row["values"]
            digits = row["digits"]
            lines.append([row["figure"], *(_fmt(values.get(name), digits) for name in self.servers),
                          _fmt(row["limit"], digits), _ratio(values.get(PRIMARY), values.get(OTHER)),
                          _ratio(values.get(PRIMARY), row["limit"]), row["target"], self.verdict(row["met"])])
        widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
        out = []
        for index, line in enumerate(lines):
            out.append("| " + " | ".join(str(cell).ljust(widths[i]) for i, cell in enumerate(line)) + " |")
            if index == 0:
                out.append("|" + "|".join("-" * (width + 2) for width in widths) + "|")
        return "\n".join(out)

    def as_json(self):
        return [{**row, "met": self.verdict(row["met"])} for row in self.rows]


def _le(value, bound):
    if isinstance(value, str) and ("left" in value or "not gone" in value):
        return False  # the figure never completed: users left behind
    value = _number(value)
    return None if value is None or bound is None else value <= bound


def _ge(value, bound):
    value = _number(value)
    return None if value is None or bound is None else value >= bound


def build(results: dict, servers: list) -> Table:
    """Turns the results dictionary (see run.py) into the table."""
    table = Table(servers)
    _issuance_rows(table, results, servers)
    _revocation_rows(table, results, servers)
    _reaper_rows(table, results, servers)
    _memory_rows(table, results, servers)
    _token_rows(table, results, servers)
    return table


def _per_server(results, servers, *keys):
    """{server: results[server][keys...]} where present."""
    values = {}
    for name in servers:
        node = results.get("servers", {}).get(name, {})
        for key in keys:
            node = node.get(key, {}) if isinstance(node, dict) else {}
        values[name] = node if node != {} else None
    return values


def _issuance_rows(table, results, servers):
    for template, by_concurrency in results.get("issuance", {}).items():
        for concurrency, entry in by_concurrency.items():
            limit = entry["limit"]["serialized" if template == "grants" else "as_is"]
            share = 0.9 if template == "grants" else 0.8
            rates = {name: entry[name]["rate"] for name in servers if name in entry}
            p50 = {name: entry[name]["p50_ms"] for name in servers if name in entry}
            p99 = {name: entry[name]["p99_ms"] for name in servers if name in entry}
            errors = {name: entry[name]["errors"] for name in servers if name in entry}
            logins = {name: f"{entry[name]['login_ok']}/{entry[name]['login_tried']}" for name in servers if name in entry}
            label = f"issue {template} c={concurrency}"
            rate_ok = _ge(rates.get(PRIMARY), share * limit["rate"])
            if template == "group" and rate_ok is not None and rates.get(OTHER) is not None:
                rate_ok = rate_ok and rates[PRIMARY] > rates[OTHER]
            target = f">= {share}x limit" + (" and > OpenBao" if template == "group" else "")
            table.add(f"{label} rate/s", rates, limit["rate"], target, rate_ok)
            if template == "grants":
                table.add(f"{label} rate/s (limit as-is, {limit_errors(entry['limit']['as_is'])})", {},
                          entry["limit"]["as_is"]["rate"])
            table.add(f"{label} p50 ms", p50, limit["p50_ms"], digits=2)
            table.add(f"{label} p99 ms", p99, limit["p99_ms"], "<= 1.2x limit p99",
                      _le(p99.get(PRIMARY), 1.2 * limit["p99_ms"]), digits=2)
            table.add(f"{label} errors", errors, limit["errors"], "0", _le(errors.get(PRIMARY), 0), digits=0)
            table.add(f"{label} sample logins", logins, None, "all log in",
                      None if PRIMARY not in entry else entry[PRIMARY]["login_ok"] == entry[PRIMARY]["login_tried"])


def limit_errors(entry) -> str:
    return f"{entry['errors']} clients aborted" if entry.get("errors") else "no errors"


def _revocation_rows(table, results, servers):
    for template, by_mode in results.get("revocation", {}).items():
        for mode, entry in by_mode.items():
            values = {}
            for name in servers:
                if name in entry:
                    seconds = entry[name]["seconds"]
                    values[name] = seconds if seconds is not None else f">{entry[name]['timeout_s']:.0f} ({entry[name]['remaining_at_timeout']} left)"
            leases = entry.get(PRIMARY, {}).get("leases", "")
            label = "revoke-prefix (sync)" if mode == "prefix" else "individual revokes c=8"
            table.add(f"revoke {leases} {template}: {label}, s", values, entry["limit"]["seconds"], "<= 10 s",
                      _le(values.get(PRIMARY), 10.0), digits=2)


def _reaper_rows(table, results, servers):
    for template, entry in results.get("reaper", {}).items():
        leases = entry.get(PRIMARY, {}).get("leases", "")
        for key, label in (("p50_s", "p50"), ("p99_s", "p99"), ("max_s", "max")):
            values = {name: entry[name][key] for name in servers if name in entry}
            for name in servers:
                if name in entry and entry[name]["not_gone_at_timeout"]:
                    values[name] = f"{_fmt(values[name], 1)} ({entry[name]['not_gone_at_timeout']} not gone)"
            table.add(f"reaper lag {leases} {template} {label}, s", values, None,
                      "<= 2 s" if key == "p99_s" else "", _le(values.get(PRIMARY), 2.0) if key == "p99_s" else None,
                      digits=2)


def _memory_rows(table, results, servers):
    memory = results.get("memory", {})
    if "idle" in memory:
        values = memory["idle"]
        table.add("RSS idle, MB", values, None, "<= 40 MB", _le(values.get(PRIMARY), 40.0))
    for count, values in memory.get("leases", {}).items():
        bound = 64.0 if int(count) >= 100_000 else None
        table.add(f"RSS with {int(count):,} leases, MB", values, None, "<= 64 MB" if bound else "",
                  _le(values.get(PRIMARY), bound) if bound else None)
    for name, entry in memory.get("restart", {}).items():
        values = {name: entry["seconds"]}
        bound = 2.0 if name != OTHER and entry["leases"] >= 100_000 else None
        table.add(f"restart to first credential, {entry['leases']:,} leases ({name}), s", values, None,
                  "<= 2 s" if bound else "", _le(values.get(name), bound) if bound else None, digits=2)


def _token_rows(table, results, servers):
    for key, label in (("token_create", "token create"), ("approle_login", "AppRole login")):
        measured = {name: value for name, value in results.get(key, {}).items()
                    if name in servers and isinstance(value, dict)}
        if not measured:
            continue
        rates = {name: value["rate"] for name, value in measured.items()}
        other = _number(rates.get(OTHER))
        table.add(f"{label} c=8 rate/s", rates, None, ">= 3x OpenBao",
                  _ge(rates.get(PRIMARY), 3 * other) if other else None)
        table.add(f"{label} c=8 p99 ms", {name: value["p99_ms"] for name, value in measured.items()}, None, digits=2)
