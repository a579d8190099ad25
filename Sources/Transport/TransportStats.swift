import Synchronization

/// Counters the transport keeps for `/metrics`. Relaxed atomics: each is read independently.
public final class TransportStats: Sendable {
    let open = Atomic<Int>(0)
    let accepted = Atomic<Int>(0)
    let rejectedOverLimit = Atomic<Int>(0)
    let received = Atomic<Int>(0)
    let sent = Atomic<Int>(0)
    let tlsHandshakeFailures = Atomic<Int>(0)

    public init() {}

    /// Connections currently open, plain and TLS.
    public var openConnections: Int { open.load(ordering: .relaxed) }
    /// Connections accepted since start.
    public var acceptedConnections: Int { accepted.load(ordering: .relaxed) }
    /// Connections turned away with 503 because `maxConnections` was reached.
    public var rejectedConnections: Int { rejectedOverLimit.load(ordering: .relaxed) }
    /// Bytes read from sockets (ciphertext on TLS).
    public var bytesReceived: Int { received.load(ordering: .relaxed) }
    /// Bytes written to sockets (ciphertext on TLS).
    public var bytesSent: Int { sent.load(ordering: .relaxed) }
    /// TLS handshakes that failed or timed out.
    public var failedTLSHandshakes: Int { tlsHandshakeFailures.load(ordering: .relaxed) }
}
