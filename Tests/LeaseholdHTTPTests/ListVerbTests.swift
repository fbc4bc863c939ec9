import AsyncHTTPClient
import Foundation
import LeaseholdHTTP
import LeaseholdCore
import NIOCore
import NIOHTTP1
import Testing

@Suite("The LIST verb over a real socket")
struct ListVerbTests {
    @Test func listVerbWorksRepeatedlyOnOneConnectionAndBodiesAreUntouched() async throws {
        let (harness, root) = try await BrokerHarness.unsealed()
        try await harness.withLiveListener(certificates: nil) { port in
            let client = HTTPClient(eventLoopGroupProvider: .singleton)
            do {
                let base = "http://127.0.0.1:\(port)/v1/"
                // A policy whose text starts with "LIST " proves request bodies are never rewritten.
                var write = HTTPClientRequest(url: base + "sys/policies/acl/listy")
                write.method = .PUT
                write.headers.add(name: "X-Vault-Token", value: root)
                let policy = "path \"LIST \" { capabilities = [\"list\"] }"
                write.body = .bytes(ByteBuffer(bytes: try JSONEncoder().encode(JSONValue.object(["policy": .string(policy)]))))
                let written = try await client.execute(write, timeout: .seconds(5))
                #expect(written.status.code == 204)
                for _ in 0..<3 {
                    var list = HTTPClientRequest(url: base + "sys/policies/acl")
                    list.method = .RAW(value: "LIST")
                    list.headers.add(name: "X-Vault-Token", value: root)
                    let response = try await client.execute(list, timeout: .seconds(5))
                    #expect(response.status.code == 200)
                    let body = try await response.body.collect(upTo: 1 << 20)
                    let reply = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: body))
                    #expect(reply.objectValue?["data"]?.objectValue?["keys"] == .strings(["default", "listy", "root"]))
                }
                var read = HTTPClientRequest(url: base + "sys/policies/acl/listy")
                read.headers.add(name: "X-Vault-Token", value: root)
                let stored = try await client.execute(read, timeout: .seconds(5))
                let storedBody = try await stored.body.collect(upTo: 1 << 20)
                let reply = try JSONDecoder().decode(JSONValue.self, from: Data(buffer: storedBody))
                #expect(reply.objectValue?["data"]?.objectValue?["policy"] == .string(policy))
                try await client.shutdown()
            } catch {
                try? await client.shutdown()
                throw error
            }
        }
    }
}
