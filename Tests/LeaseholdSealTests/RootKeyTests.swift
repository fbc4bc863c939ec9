import Foundation
import LeaseholdCore
import Testing

@testable import LeaseholdSeal

@Suite struct RootKeyTests {
    @Test func generatesDistinct32ByteKeys() {
        let first = RootKey.generate()
        let second = RootKey.generate()
        #expect(first.bytes.count == 32)
        #expect(first.bytes != second.bytes)
    }

    @Test func requiresExactly32Bytes() throws {
        let bytes = SecureRandom.bytes(32)
        #expect(try RootKey(bytes: bytes).bytes == bytes)
        for count in [0, 16, 31, 33, 64] {
            #expect(throws: LeaseholdError.invalidRequest("")) { try RootKey(bytes: SecureRandom.bytes(count)) }
        }
    }

    @Test func descriptionIsRedacted() {
        let key = RootKey.generate()
        #expect(key.description == "<redacted>")
        #expect(key.debugDescription == "<redacted>")
        #expect("\(key)" == "<redacted>")
        #expect(String(reflecting: key) == "<redacted>")
        var dumped = ""
        dump(key, to: &dumped)
        #expect(!dumped.contains("storage"))
        #expect(Mirror(reflecting: key).children.isEmpty)
    }

    @Test func sharesOfTheRootKeyRebuildIt() throws {
        let key = RootKey.generate()
        let shares = try Shamir.split(key.bytes, shares: 5, threshold: 3)
        #expect(try RootKey(bytes: Shamir.combine(Array(shares[1...3]))).bytes == key.bytes)
    }
}

@Suite final class RootKeyFileTests: Sendable {
    let directory: URL

    init() throws {
        directory = FileManager.default.temporaryDirectory
            .appendingPathComponent("leasehold-seal-tests-\(SecureRandom.accessor())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    deinit {
        try? FileManager.default.removeItem(at: directory)
    }

    func writeKeyFile(_ content: Data, mode: Int = 0o600) throws -> String {
        let path = directory.appendingPathComponent(SecureRandom.accessor()).path
        #expect(FileManager.default.createFile(atPath: path, contents: content))
        try FileManager.default.setAttributes([.posixPermissions: mode], ofItemAtPath: path)
        return path
    }

    func expectKeyFileError(_ path: String, mentioning fragment: String) {
        do {
            _ = try RootKey.load(keyFile: path)
            Issue.record("key file \(path) was accepted")
        } catch let error as LeaseholdError {
            #expect(error.code == .invalidRequest)
            #expect(error.message.contains(fragment), "\(error.message)")
        } catch {
            Issue.record("unexpected error \(error)")
        }
    }

    @Test func loadsRawHexAndBase64() throws {
        let bytes = SecureRandom.bytes(32)
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let formats: [Data] = [
            Data(bytes),
            Data(hex.utf8),
            Data((hex.uppercased() + "\n").utf8),
            Data(("  " + Data(bytes).base64EncodedString() + "\r\n").utf8),
            Data(
                Data(bytes).base64EncodedString()
                    .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                    .replacingOccurrences(of: "=", with: "").utf8),
        ]
        for content in formats {
            #expect(try RootKey.load(keyFile: writeKeyFile(content)).bytes == bytes)
        }
        #expect(try RootKey.load(keyFile: writeKeyFile(Data(bytes), mode: 0o400)).bytes == bytes)
    }

    @Test(arguments: [0o644, 0o640, 0o604, 0o660, 0o606, 0o610, 0o601, 0o777])
    func refusesFilesOthersCanAccess(mode: Int) throws {
        let path = try writeKeyFile(Data(SecureRandom.bytes(32)), mode: mode)
        expectKeyFileError(path, mentioning: "accessible by group or others (mode \(String(mode, radix: 8)))")
    }

    @Test func refusesMalformedContent() throws {
        let tooShort = Data(SecureRandom.bytes(16))
        let badHex = Data(String(repeating: "zz", count: 32).utf8)
        let shortHex = Data(String(repeating: "ab", count: 31).utf8)
        let longBase64 = Data(Data(SecureRandom.bytes(48)).base64EncodedString().utf8)
        for content in [Data(), tooShort, badHex, shortHex, longBase64, Data(SecureRandom.bytes(33))] {
            expectKeyFileError(try writeKeyFile(content), mentioning: "must contain 32 raw bytes")
        }
        expectKeyFileError(try writeKeyFile(Data(count: 5000)), mentioning: "too large")
    }

    @Test func errorsNameThePathButNotTheContent() throws {
        let content = Data(String(repeating: "q", count: 40).utf8)
        let path = try writeKeyFile(content)
        do {
            _ = try RootKey.load(keyFile: path)
            Issue.record("accepted")
        } catch let error as LeaseholdError {
            #expect(error.message.contains(path))
            #expect(!error.message.contains("qqqq"))
        }
    }

    @Test func refusesMissingFilesAndDirectories() {
        expectKeyFileError(directory.appendingPathComponent("absent").path, mentioning: "cannot be opened")
        expectKeyFileError(directory.path, mentioning: "is not a regular file")
    }
}
