extension Duration {
    /// The duration in whole milliseconds (at least 1), as PostgreSQL's timeout settings take it.
    public var sqlMilliseconds: Int64 {
        max(1, components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000)
    }
}
