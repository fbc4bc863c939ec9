# Leasehold server configuration: SQLite store, TLS listener, key-file auto-unseal.

storage "sqlite" {
  # A directory; the database file is created inside it.
  path = "/var/lib/leasehold"
}

listener "tcp" {
  address       = "0.0.0.0:8200"
  tls_cert_file = "/etc/leasehold/tls/server.crt"
  tls_key_file  = "/etc/leasehold/tls/server.key"

  # Optional: trust these CAs for client certificates (cert auth / mTLS).
  tls_client_ca_file = "/etc/leasehold/tls/clients-ca.pem"
  # Set to true to require a client certificate on every connection.
  tls_require_and_verify_client_cert = false

  tls_min_version  = "tls12"
  max_request_size = 33554432
}

# Unseal automatically at startup with the key in this file (mode 0600, owned by the service user).
seal "keyfile" {
  path = "/etc/leasehold/unseal.key"
}

api_addr          = "https://leasehold.example.internal:8200"
default_lease_ttl = "1h"
max_lease_ttl     = "768h"
log_level         = "info"
roles_directory   = "/etc/leasehold/roles"
