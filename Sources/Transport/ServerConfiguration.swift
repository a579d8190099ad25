/// Every limit, timeout and tuning value of the transport, with the defaults documented in
/// docs/CONFIGURATION.md. The `parley serve` flags map one to one onto the fields they set; the
/// fields under "Tuning" have no flag.
package struct ServerConfiguration: Sendable {
    /// Address to bind: an IPv4/IPv6 literal or a host name. Default loopback only.
    package var host: String = "127.0.0.1"
    /// Plain HTTP port; 0 picks an ephemeral port, nil disables the plain listener.
    package var port: Int? = 3000
    /// HTTPS port; 0 picks an ephemeral port, nil disables the TLS listener.
    package var tlsPort: Int?
    /// Certificate and key for the TLS listener.
    package var tls: TLSConfiguration?
    /// Number of event-loop threads, each with its own epoll instance. Default: one per core.
    package var eventLoopThreads: Int = max(1, System.coreCount)
    /// `listen(2)` backlog.
    package var backlog: Int32 = 1024
    /// Framing limits enforced by the HTTP parser.
    package var limits = HTTPParser.Limits()
    /// Open connections across all listeners; past it new clients get 503 and are closed.
    package var maxConnections: Int = 16_384
    /// Time allowed from the first byte of a request (or from accept) to the end of its head (→ 408).
    package var headerReadTimeout: Duration = .seconds(10)
    /// Time allowed between two reads while a body is arriving (→ 408).
    package var bodyReadTimeout: Duration = .seconds(30)
    /// How long an idle keep-alive connection is kept open.
    package var idleTimeout: Duration = .seconds(60)
    /// Time allowed for a TLS handshake to finish.
    package var tlsHandshakeTimeout: Duration = .seconds(10)
    /// Time a response may wait for the client to read it before the connection is dropped.
    package var writeTimeout: Duration = .seconds(30)
    /// How long a shutdown waits for in-flight requests before closing connections anyway.
    package var shutdownGracePeriod: Duration = .seconds(10)
    /// How often each loop checks deadlines; the granularity of every timeout above.
    package var timerResolution: Duration = .milliseconds(100)
    /// Bytes of pipelined input buffered while a response is pending, before reading pauses; also
    /// the unsent response bytes past which no further pipelined request is answered until the
    /// client reads.
    package var maxPipelineBufferBytes: Int = 64 * 1024
    /// Unsent bytes of a streamed response body (`HTTPResponse.stream`) below which the next
    /// piece is asked for: above it the producer waits for the client to read. Memory per
    /// streaming connection is about this plus one piece.
    package var streamHighWaterBytes: Int = 256 * 1024
    /// `Retry-After` seconds sent with 503 answers from the transport.
    package var retryAfterSeconds: Int = 1
    /// The `Server` header value.
    package var serverName: String = "parley"

    // MARK: Tuning

    /// How long a connection that has sent its last answer and shut its write side keeps reading
    /// (and discarding) before it closes anyway: long enough for the peer to read the answer and
    /// close, so the kernel does not reset the connection under it (lingering close).
    package var lingerTimeout: Duration = .seconds(2)
    /// Reads from one connection per readiness event: a bound, so that one busy client does not
    /// starve the others on its loop (16 × `readBufferBytes` is 1 MiB per turn).
    package var maxReadsPerWakeup: Int = 16
    /// Connections accepted per readiness event of a listener, so that the connections a loop
    /// already has stay served during a burst of new ones.
    package var maxAcceptsPerWakeup: Int = 64
    /// Size of each loop's read buffer, shared by all its connections: a read lands there and is
    /// consumed at once.
    package var readBufferBytes: Int = 64 * 1024
    /// Capacity a connection's output buffer keeps once drained, for the next response; a larger
    /// buffer (a big answer) is given back to the allocator.
    package var retainedOutputBufferBytes: Int = 16 * 1024
    /// epoll events taken per `epoll_wait` call.
    package var eventBatchSize: Int = 256

    package init() {}
}

extension Duration {
    /// Whole nanoseconds, saturating; used for deadlines on the monotonic clock.
    var nanoseconds: UInt64 {
        let (seconds, attoseconds) = components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) &* 1_000_000_000 &+ UInt64(attoseconds / 1_000_000_000)
    }
}
