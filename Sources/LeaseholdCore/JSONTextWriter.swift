/// Appends compact JSON text (UTF-8) to a byte buffer: the one place that decides how strings are escaped and
/// numbers are spelled, shared by ``JSONValue/jsonBytes()`` and ``SortedJSONEncoder``.
///
/// The spelling is Foundation's `JSONEncoder`: `"` and `\` escaped, the control characters with their short escapes
/// (`\b \t \n \f \r`) or `\u00XX` in lowercase hex, `/` as `\/` unless `escapesSlashes` is off, everything else as
/// is; integers in decimal; floating-point numbers as Swift's shortest round-trip `description` without a trailing
/// `.0`. Audit hashes are computed over text written here, so the spelling must never change.
struct JSONTextWriter {
    /// The text written so far.
    var bytes: [UInt8] = []
    /// Whether `/` is written as `\/` (Foundation's default).
    let escapesSlashes: Bool

    init(escapesSlashes: Bool, capacity: Int = 256) {
        self.escapesSlashes = escapesSlashes
        bytes.reserveCapacity(capacity)
    }

    mutating func writeNull() { bytes.append(contentsOf: [0x6E, 0x75, 0x6C, 0x6C]) }

    mutating func writeBool(_ value: Bool) {
        if value {
            bytes.append(contentsOf: [0x74, 0x72, 0x75, 0x65])
        } else {
            bytes.append(contentsOf: [0x66, 0x61, 0x6C, 0x73, 0x65])
        }
    }

    mutating func write(byte: UInt8) { bytes.append(byte) }

    /// Writes an integer in decimal.
    mutating func writeInteger<Integer: BinaryInteger>(_ value: Integer) {
        guard value != 0 else { return bytes.append(UInt8(ascii: "0")) }
        if value < 0 { bytes.append(UInt8(ascii: "-")) }
        let start = bytes.count
        var remaining = value.magnitude
        while remaining > 0 {
            let (quotient, digit) = remaining.quotientAndRemainder(dividingBy: 10)
            bytes.append(UInt8(ascii: "0") + UInt8(digit))
            remaining = quotient
        }
        bytes[start...].reverse()
    }

    /// Writes a finite floating-point number; returns `false` (writing nothing) for NaN and the infinities.
    mutating func writeFloatingPoint<Number: BinaryFloatingPoint & CustomStringConvertible>(_ value: Number) -> Bool {
        guard value.isFinite else { return false }
        let text = value.description.utf8
        if text.count >= 2, text.suffix(2).elementsEqual([UInt8(ascii: "."), UInt8(ascii: "0")]) {
            bytes.append(contentsOf: text.dropLast(2))
        } else {
            bytes.append(contentsOf: text)
        }
        return true
    }

    /// Writes a string with its quotes.
    mutating func writeString(_ value: String) {
        bytes.append(UInt8(ascii: "\""))
        var value = value
        value.withUTF8 { utf8 in
            var clean = 0
            for index in utf8.indices {
                let byte = utf8[index]
                let escape: (UInt8, UInt8)?
                switch byte {
                case UInt8(ascii: "\""): escape = (UInt8(ascii: "\\"), byte)
                case UInt8(ascii: "\\"): escape = (UInt8(ascii: "\\"), byte)
                case UInt8(ascii: "/") where escapesSlashes: escape = (UInt8(ascii: "\\"), byte)
                case 0x08: escape = (UInt8(ascii: "\\"), UInt8(ascii: "b"))
                case 0x09: escape = (UInt8(ascii: "\\"), UInt8(ascii: "t"))
                case 0x0A: escape = (UInt8(ascii: "\\"), UInt8(ascii: "n"))
                case 0x0C: escape = (UInt8(ascii: "\\"), UInt8(ascii: "f"))
                case 0x0D: escape = (UInt8(ascii: "\\"), UInt8(ascii: "r"))
                case 0..<0x20: escape = nil
                default: continue
                }
                bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean..<index]))
                clean = index + 1
                if let (first, second) = escape {
                    bytes.append(first)
                    bytes.append(second)
                } else {
                    bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0")])
                    bytes.append(lowercaseHexDigits[Int(byte >> 4)])
                    bytes.append(lowercaseHexDigits[Int(byte & 0x0F)])
                }
            }
            bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[clean...]))
        }
        bytes.append(UInt8(ascii: "\""))
    }
}
