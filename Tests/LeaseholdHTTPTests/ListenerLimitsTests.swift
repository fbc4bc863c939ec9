import Foundation
import Glibc
import LeaseholdHTTP
import Testing

/// A blocking TCP client socket for tests that must control every byte and see when the server closes.
final class RawConnection: @unchecked Sendable {
    let socket: Int32

    init(port: Int) throws {
        socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard socket >= 0, connected == 0 else {
            close(socket)
            throw POSIXError(.ECONNREFUSED)
        }
        var wait = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(socket, SOL_SOCKET, SO_RCVTIMEO, &wait, socklen_t(MemoryLayout<timeval>.size))
    }

    deinit { close(socket) }

    /// Sends `text`; false once the server has closed the connection.
    @discardableResult
    func send(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        return Glibc.send(socket, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count
    }

    /// Sends a byte every 200 ms for up to 8 s; how long until the server closed the connection, or `nil` if it
    /// never did.
    func trickleUntilClosed() async throws -> Duration? {
        let started = ContinuousClock.now
        while ContinuousClock.now - started < .seconds(8) {
            try await Task.sleep(for: .milliseconds(200))
            if !send("x") { return ContinuousClock.now - started }
        }
        return nil
    }

    /// Waits up to 10 s for bytes; the text read, or `nil` when the server closed the connection. The blocking
    /// `recv` runs on a dispatch thread: on the cooperative pool it could starve the in-process server it waits for.
    func receive() async -> String? {
        let socket = socket
        return await withCheckedContinuation { continuation in
            DispatchQueue.global().async {
                var buffer = [UInt8](repeating: 0, count: 4096)
                let count = recv(socket, &buffer, buffer.count, 0)
                continuation.resume(returning: count > 0 ? String(decoding: buffer[..<count], as: UTF8.self) : nil)
            }
        }
    }
}

@Suite("Listener bounds on slow and numerous clients")
struct ListenerLimitsTests {
    /// A client trickling its request head (slowloris) is cut off after the idle timeout: it holds no connection
    /// and no task for longer.
    @Test func aConnectionThatNeverFinishesItsHeadIsClosed() async throws {
        let (harness, _) = try await BrokerHarness.unsealed()
        try await harness.withLiveListener(certificates: nil, limits: RequestLimits(idleTimeout: .seconds(1))) { port in
            let connection = try RawConnection(port: port)
            #expect(connection.send("GET /v1/sys/health HTTP/1.1\r\nHost: localhost\r\nX-Slow: "))
            let started = ContinuousClock.now
            #expect(await connection.receive() == nil, "the server closes the connection")
            #expect(ContinuousClock.now - started < .seconds(5))
        }
    }

    /// A client trickling its body a byte at a time, each byte well inside the idle timeout, is cut off once the
    /// request has taken longer than the read timeout to arrive.
    @Test func aBodyTrickledInsideTheIdleTimeoutIsCutOffAtTheReadTimeout() async throws {
        let (harness, _) = try await BrokerHarness.unsealed()
        let limits = RequestLimits(idleTimeout: .seconds(5), readTimeout: .seconds(1))
        try await harness.withLiveListener(certificates: nil, limits: limits) { port in
            let connection = try RawConnection(port: port)
            #expect(connection.send("PUT /v1/sys/unseal HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n"))
            let closedAfter = try await connection.trickleUntilClosed()
            #expect(closedAfter != nil, "the server closes the connection")
            #expect(closedAfter.map { $0 < .seconds(4) } == true)
            // A request that arrives in time on a fresh connection is answered as usual.
            let prompt = try RawConnection(port: port)
            #expect(prompt.send("GET /v1/sys/health HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"))
            #expect(await prompt.receive()?.hasPrefix("HTTP/1.1 200") == true)
        }
    }

    /// An answer written before its request's body arrived (a 404 outside `/v1/`) must not switch the deadline off
    /// for the connection's later requests.
    @Test func anEarlyAnswerDoesNotSwitchTheReadTimeoutOff() async throws {
        let (harness, _) = try await BrokerHarness.unsealed()
        let limits = RequestLimits(idleTimeout: .seconds(8), readTimeout: .seconds(3))
        try await harness.withLiveListener(certificates: nil, limits: limits) { port in
            let connection = try RawConnection(port: port)
            #expect(connection.send("PUT /elsewhere HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1\r\n\r\n"))
            let early = await connection.receive()
            #expect(early?.hasPrefix("HTTP/1.1 404") == true, "\(early ?? "closed")")
            #expect(connection.send("x"))
            #expect(connection.send("PUT /v1/sys/unseal HTTP/1.1\r\nHost: localhost\r\nContent-Length: 1000\r\n\r\n"))
            let closedAfter = try await connection.trickleUntilClosed()
            #expect(closedAfter != nil, "the server closes the connection")
            #expect(closedAfter.map { $0 < .seconds(6) } == true)
        }
    }

    /// Connections beyond the bound are closed as they are accepted; those already open keep working, and a place
    /// freed by a closed connection is taken by the next one.
    @Test func connectionsBeyondTheBoundAreClosedAndPlacesAreGivenBack() async throws {
        let (harness, _) = try await BrokerHarness.unsealed()
        try await harness.withLiveListener(certificates: nil, limits: RequestLimits(maximumConnections: 2)) { port in
            var held = [try RawConnection(port: port), try RawConnection(port: port)]
            let health = "GET /v1/sys/health HTTP/1.1\r\nHost: localhost\r\n\r\n"
            for connection in held {
                #expect(connection.send(health))
                #expect(await connection.receive()?.hasPrefix("HTTP/1.1 200") == true)
            }
            let refused = try RawConnection(port: port)
            refused.send(health)
            #expect(await refused.receive() == nil, "the third connection is closed without an answer")
            #expect(held[0].send(health))
            #expect(await held[0].receive()?.hasPrefix("HTTP/1.1 200") == true, "open connections keep working")

            held.removeLast()
            var answered = false
            for _ in 0..<50 where !answered {
                try await Task.sleep(for: .milliseconds(100))
                let next = try RawConnection(port: port)
                guard next.send(health) else { continue }
                answered = await next.receive()?.hasPrefix("HTTP/1.1 200") == true
            }
            #expect(answered, "the place of the closed connection is given back")
        }
    }
}
