-- Leasehold store schema, version 1 (PostgreSQL).
-- Statements end with ';' at the end of a line: the store runs them one by one.
-- Keys use COLLATE "C" (bytewise on UTF-8), the order BrokerStore promises, whatever the database's collation.

CREATE TABLE entries (
    namespace TEXT COLLATE "C" NOT NULL,
    key TEXT COLLATE "C" NOT NULL,
    value BYTEA NOT NULL,
    version BIGINT NOT NULL CHECK (version >= 1),
    PRIMARY KEY (namespace, key)
);

-- One row per audit event, hash-chained (see LeaseholdAuditChain). `time` keeps microseconds, which the chain hashes.
CREATE TABLE audit_log (
    sequence BIGINT PRIMARY KEY CHECK (sequence >= 1),
    time TIMESTAMPTZ NOT NULL,
    request_id TEXT NOT NULL,
    type TEXT NOT NULL,
    operation TEXT NOT NULL,
    path TEXT NOT NULL,
    accessor TEXT NOT NULL,
    token_hmac TEXT NOT NULL,
    display_name TEXT NOT NULL,
    policies JSONB NOT NULL CHECK (jsonb_typeof(policies) = 'array'),
    auth_method TEXT NOT NULL,
    remote_address TEXT NOT NULL,
    outcome TEXT NOT NULL,
    error_class TEXT,
    environment TEXT NOT NULL,
    details JSONB NOT NULL CHECK (jsonb_typeof(details) = 'object'),
    previous_hash BYTEA NOT NULL CHECK (length(previous_hash) = 32),
    hash BYTEA NOT NULL CHECK (length(hash) = 32)
);

CREATE INDEX audit_log_time ON audit_log (time);
CREATE INDEX audit_log_type ON audit_log (type);
CREATE INDEX audit_log_accessor ON audit_log (accessor);

-- The end of the chain: exactly one row, locked FOR UPDATE by every append so that instances sharing the
-- database extend the chain one at a time.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    sequence BIGINT NOT NULL CHECK (sequence >= 0),
    hash BYTEA NOT NULL CHECK (length(hash) = 32)
);

INSERT INTO audit_head (id, sequence, hash) VALUES (1, 0, decode(repeat('00', 32), 'hex'));
