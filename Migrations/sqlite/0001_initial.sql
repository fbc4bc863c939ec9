-- Leasehold store schema, version 1 (SQLite).
-- Keys compare with the BINARY collation, i.e. bytewise on UTF-8, which is the order BrokerStore promises.

CREATE TABLE entries (
    namespace TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    PRIMARY KEY (namespace, key)
) WITHOUT ROWID;

-- One row per audit event, hash-chained (see LeaseholdAuditChain). `time` is RFC 3339 UTC text with microseconds,
-- so it sorts chronologically; `policies` (array) and `details` (object) are JSON text usable with json_each().
CREATE TABLE audit_log (
    sequence INTEGER PRIMARY KEY CHECK (sequence >= 1),
    time TEXT NOT NULL,
    request_id TEXT NOT NULL,
    type TEXT NOT NULL,
    operation TEXT NOT NULL,
    path TEXT NOT NULL,
    accessor TEXT NOT NULL,
    token_hmac TEXT NOT NULL,
    display_name TEXT NOT NULL,
    policies TEXT NOT NULL CHECK (json_valid(policies)),
    auth_method TEXT NOT NULL,
    remote_address TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error_class TEXT,
    environment TEXT NOT NULL,
    details TEXT NOT NULL CHECK (json_valid(details)),
    previous_hash BLOB NOT NULL CHECK (length(previous_hash) = 32),
    hash BLOB NOT NULL CHECK (length(hash) = 32)
);

CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_type ON audit_log (type);
CREATE INDEX audit_log_accessor ON audit_log (accessor);

-- The end of the chain: exactly one row.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence INTEGER NOT NULL CHECK (sequence >= 0),
    hash BLOB NOT NULL CHECK (length(hash) = 32)
);

INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, zeroblob(32));
