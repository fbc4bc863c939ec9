-- Leasehold store schema, version 2 (SQLite): the auditors' two lookups by detail use an index instead of reading
-- the whole table: a lease's timeline (details.lease_id) and who held a database user (details.db_username).
-- Partial: only the rows that carry the detail (not logins and token operations). Queries must spell the
-- expression exactly like this (a literal path) for SQLite to use the index.

CREATE INDEX audit_log_lease_id ON audit_log (json_extract(details, '$.lease_id'))
    WHERE json_extract(details, '$.lease_id') IS NOT NULL;
CREATE INDEX audit_log_db_username ON audit_log (json_extract(details, '$.db_username'))
    WHERE json_extract(details, '$.db_username') IS NOT NULL;
