import AsyncHTTPClient
import Foundation
import Glibc
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

    /// A client trickling its request head (slowloris) is cut off after the idle timeout: it holds no connection
    /// and no task for longer.
    @Test func aConnectionThatNeverFinishesItsHeadIsClosed() async throws {
        let (harness, _) = try await BrokerHarness.unsealed()
        try await harness.withLiveListener(certificates: nil, limits: RequestLimits(idleTimeout: .seconds(1))) { port in
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            #expect(socket >= 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_port = in_port_t(UInt16(port).bigEndian)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            let connected = withUnsafePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
            }
            #expect(connected == 0)
            var wait = timeval(tv_sec: 10, tv_usec: 0)
            setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
            let partial = Array("GET /v1/sys/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ".utf8)
            #expect(send(socket, partial, partial.count, 0) == partial.count)
            let started = ContinuousClock.now
            var buffer = [UInt8](repeating: 0, count: 64)
            let received = recv(socket, &buffer, buffer.count, 0)
            let waited = ContinuousClock.now - started
            #expect(received == 0, "the server closes the connection")
            #expect(waited < .seconds(5))
        }
    }
}
