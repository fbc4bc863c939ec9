import LeaseholdCore
import LeaseholdHCL

/// Reads typed settings out of one configuration object, with Vault's lenient typing (`"true"`, `1`, `"1h"`), and
/// collects warnings for keys nobody read.
struct ConfigurationReader {
    /// The object being read.
    let object: HCLObject
    /// A prefix for messages, such as `listener "tcp"`; empty at top level.
    let context: String
    private(set) var readKeys = Set<String>()

    init(_ object: HCLObject, context: String = "") {
        self.object = object
        self.context = context
    }

    func error(_ message: String) -> ConfigurationError {
        ConfigurationError(context.isEmpty ? message : "\(context): \(message)")
    }

    /// Marks `key` as understood and returns its single value; a repeated key is an error.
    mutating func value(_ key: String) throws(ConfigurationError) -> HCLValue? {
        readKeys.insert(key)
        let values = object.values(for: key)
        guard values.count <= 1 else { throw error("duplicate key \(HCLError.excerpt(key))") }
        return values.first
    }

    mutating func string(_ key: String) throws(ConfigurationError) -> String? {
        guard let value = try value(key) else { return nil }
        switch value {
        case .string(let string): return string
        case .number(let number) where number == number.rounded() && abs(number) < 1e15: return String(Int64(number))
        default: throw error("\(key) must be a string")
        }
    }

    /// Reads a Boolean given as a bool, a number 0/1, or a string Go's `strconv.ParseBool` accepts.
    mutating func bool(_ key: String) throws(ConfigurationError) -> Bool? {
        guard let value = try value(key) else { return nil }
        switch value {
        case .bool(let bool): return bool
        case .number(1): return true
        case .number(0): return false
        case .string(let string):
            switch string {
            case "1", "t", "T", "true", "TRUE", "True": return true
            case "0", "f", "F", "false", "FALSE", "False": return false
            default: break
            }
        default: break
        }
        throw error("\(key) must be a boolean")
    }

    /// Reads an integer given as a number or a numeric string.
    mutating func integer(_ key: String) throws(ConfigurationError) -> Int? {
        guard let value = try value(key) else { return nil }
        switch value {
        case .number(let number) where number == number.rounded() && abs(number) < 1e15: return Int(number)
        case .string(let string): if let integer = Int(string) { return integer }
        default: break
        }
        throw error("\(key) must be an integer")
    }

    /// Reads a duration given as seconds or a Go-style duration string.
    mutating func ttl(_ key: String) throws(ConfigurationError) -> TTL? {
        guard let value = try value(key) else { return nil }
        switch value {
        case .number(let number):
            guard let ttl = TTL(wholeSeconds: number) else { throw error("\(key) must be a duration") }
            return ttl
        case .string(let string):
            do {
                return try TTL.parse(string)
            } catch {
                throw self.error("invalid duration for \(key)")
            }
        default:
            throw error("\(key) must be a duration")
        }
    }

    /// A warning for each key that was never read.
    var unreadKeyWarnings: [String] {
        object.keys.filter { !readKeys.contains($0) }.map { key in
            let warning = "unknown configuration key \(HCLError.excerpt(key)) ignored"
            return context.isEmpty ? warning : "\(context): \(warning)"
        }
    }

    /// Marks keys that are handled elsewhere (for example blocks read with `blocks(named:)`).
    mutating func markRead(_ keys: String...) {
        readKeys.formUnion(keys)
    }
}
