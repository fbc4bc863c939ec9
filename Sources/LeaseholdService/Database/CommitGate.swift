import Synchronization

/// Decides, once, between a target transaction committing and its issuer giving up on it.
///
/// The engine passes through ``enterCommit()`` (in `beforeCommit`) before it may commit; an issuer that stops
/// waiting calls ``abandon()``. Whichever comes first wins: an abandoned transaction can no longer commit (it rolls
/// back when its work, still running in the background, reaches the gate), and an issuer that abandons after the
/// gate was passed learns that the transaction may have committed, so that it leaves the user to the reaper.
final class CommitGate: Sendable {
    private enum State {
        case open, committing, abandoned
    }

    private let state = Mutex(State.open)

    /// Lets the transaction commit, unless its issuer has abandoned it (a retried transaction passes again).
    func enterCommit() throws {
        try state.withLock { state in
            guard state != .abandoned else { throw CancellationError() }
            state = .committing
        }
    }

    /// Stops any later commit; returns whether the transaction had already passed the gate (its outcome unknown).
    func abandon() -> Bool {
        state.withLock { state in
            if state == .committing { return true }
            state = .abandoned
            return false
        }
    }
}
