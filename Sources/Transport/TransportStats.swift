import Synchronization

/// Counters the transport keeps for `/metrics`. Relaxed atomics: each is read independently.
package final class TransportStats: Sendable {
    let open = Atomic<Int>(0)
    let accepted = Atomic<Int>(0)
    let rejectedOverLimit = Atomic<Int>(0)
    let received = Atomic<Int>(0)
    let sent = Atomic<Int>(0)
    let tlsHandshakeFailures = Atomic<Int>(0)

    package init() {}

    /// Connections currently open, plain and TLS.
    package var openConnections: Int { open.load(ordering: .relaxed) }
    /// Connections accepted since start.
    package var acceptedConnections: Int { accepted.load(ordering: .relaxed) }
    /// Connections turned away with 503 because `maxConnections` was reached.
    package var rejectedConnections: Int { rejectedOverLimit.load(ordering: .relaxed) }
    /// Bytes read from sockets (ciphertext on TLS).
    package var bytesReceived: Int { received.load(ordering: .relaxed) }
    /// Bytes written to sockets (ciphertext on TLS).
    package var bytesSent: Int { sent.load(ordering: .relaxed) }
    /// TLS handshakes that failed or timed out.
    package var failedTLSHandshakes: Int { tlsHandshakeFailures.load(ordering: .relaxed) }
}
