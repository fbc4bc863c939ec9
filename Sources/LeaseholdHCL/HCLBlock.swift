/// A block read from a document: `key "label1" "label2" { body }`.
public struct HCLBlock: Sendable, Hashable {
    /// The labels, outermost first.
    public var labels: [String]
    /// The block's body.
    public var body: HCLObject

    /// Creates a block.
    public init(labels: [String], body: HCLObject) {
        self.labels = labels
        self.body = body
    }
}
