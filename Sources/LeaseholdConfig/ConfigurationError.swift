/// A configuration problem, before it is wrapped into a ``LeaseholdCore/LeaseholdError`` naming the file.
struct ConfigurationError: Error {
    let message: String

    init(_ message: String) {
        self.message = message
    }
}
