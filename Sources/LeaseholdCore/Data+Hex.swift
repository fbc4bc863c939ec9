import Foundation

extension Data {
    /// Lowercase hexadecimal text.
    public var hexString: String { map { String(format: "%02x", $0) }.joined() }

    /// Parses hexadecimal text; `nil` when not valid hex of even length.
    public init?(hexString: String) {
        guard hexString.count % 2 == 0, !hexString.isEmpty else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hexString.count / 2)
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
