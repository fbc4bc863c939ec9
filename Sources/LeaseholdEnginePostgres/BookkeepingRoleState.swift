/// Remembers whether the engine has made sure its bookkeeping role exists, so it checks once per engine (and again
/// after a grant found it missing).
actor BookkeepingRoleState {
    private(set) var isEnsured = false

    /// Records that the role exists.
    func markEnsured() { isEnsured = true }

    /// Forgets it, so the next creation checks again.
    func reset() { isEnsured = false }
}
