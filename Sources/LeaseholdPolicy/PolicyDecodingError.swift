/// A policy parse failure, before it is wrapped into a ``LeaseholdCore/LeaseholdError``.
struct PolicyDecodingError: Error {
    let message: String

    init(_ message: String) {
        self.message = message
    }
}
