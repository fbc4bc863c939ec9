# The auditor policy: read the audit trail (queries, lease timelines, holders, active leases, verification) and
# nothing else. Checkpoints on demand need sudo on sys/audit-log/checkpoint, which auditors do not get.
path "sys/audit-log" {
  capabilities = ["read"]
}

path "sys/audit-log/*" {
  capabilities = ["read"]
}
