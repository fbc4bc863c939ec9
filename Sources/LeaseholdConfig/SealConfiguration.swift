/// How the broker is unsealed (`seal "…" { … }`).
public enum SealConfiguration: Sendable, Hashable {
    /// Manual unsealing with Shamir key shares (the default when no seal block is given).
    case shamir
    /// Automatic unsealing with the key stored in the file at `path`.
    case keyFile(path: String)
}
