import Glibc
import Logging
import Synchronization

/// A listening socket owned by one event loop. With `SO_REUSEPORT` each loop has its own
/// listener on the same port, and the kernel spreads new connections across them.
final class Listener: EventHandler, @unchecked Sendable {
    // @unchecked: `fd` and `spareFD` change only on the owning loop's thread (or, when `start`
    // failed, after that loop has stopped); the rest is immutable.
    private var fd: FileDescriptor
    let isTLS: Bool
    private let loop: EventLoop
    private let shared: ServerShared
    /// A spare descriptor, given up for a moment when accept fails with EMFILE so the pending
    /// connection can be accepted and closed instead of waking the loop forever.
    private var spareFD: FileDescriptor

    init(fd: Int32, isTLS: Bool, loop: EventLoop, shared: ServerShared) {
        self.fd = FileDescriptor(taking: fd)
        self.isTLS = isTLS
        self.loop = loop
        self.shared = shared
        spareFD = FileDescriptor(taking: open("/dev/null", O_RDONLY | O_CLOEXEC))
    }

    func start() throws(SystemError) {
        try loop.register(fd: fd.rawValue, events: .readable, handler: self)
    }

    func handle(events: EpollEvents) {
        // Accept a bounded batch per wake-up so existing connections on this loop stay served.
        for _ in 0..<shared.configuration.maxAcceptsPerWakeup {
            let result: IOResult<Int32>
            do {
                result = try Socket.accept(fd.rawValue)
            } catch {
                switch error.errno {
                case EMFILE, ENFILE:
                    shedOneConnection()
                    return
                case ECONNABORTED, EPROTO, EPERM:
                    continue
                default:
                    shared.logger.warning("accept failed: \(error)")
                    return
                }
            }
            guard case .done(let clientFD) = result else { return }
            admit(clientFD)
        }
    }

    func tick(now: UInt64) {}

    private func admit(_ clientFD: Int32) {
        let stats = shared.stats
        if shared.isShuttingDown {
            Socket.close(clientFD)
            return
        }
        if stats.open.load(ordering: .relaxed) >= shared.configuration.maxConnections {
            reject(clientFD)
            return
        }
        Socket.setNoDelay(clientFD)
        var tls: TLSStream?
        if isTLS {
            guard let context = shared.tlsContext.withLock({ $0 }) else {
                Socket.close(clientFD)
                return
            }
            do {
                tls = try TLSStream(context: context)
            } catch {
                shared.logger.warning("could not create TLS session: \(error)")
                Socket.close(clientFD)
                return
            }
        }
        stats.open.add(1, ordering: .relaxed)
        stats.accepted.add(1, ordering: .relaxed)
        HTTPConnection(fd: clientFD, loop: loop, shared: shared, tls: tls).start()
    }

    /// Past `maxConnections`: answer 503 with Retry-After (plain HTTP) and close at once.
    /// A TLS client would need a full handshake to read an answer, so it is simply closed.
    private func reject(_ clientFD: Int32) {
        shared.stats.rejectedOverLimit.add(1, ordering: .relaxed)
        if !isTLS {
            var bytes: [UInt8] = []
            ResponseEncoder.encode(
                HTTPResponse.jsonError(
                    status: 503, error: "ServiceUnavailable",
                    message: "Too many open connections; retry later",
                    headers: ["Retry-After": String(shared.configuration.retryAfterSeconds),
                              "X-Request-Id": String(UInt64.random(in: 0...UInt64.max), radix: 16)]),
                keepAlive: false, version: .http1_1, omitBody: false, date: loop.dateHeader,
                serverName: shared.configuration.serverName, into: &bytes)
            _ = try? bytes.withUnsafeBytes { raw in try Socket.write(clientFD, raw) }
        }
        shared.observer?.transportAnswered(status: 503, reason: "connection limit reached")
        Socket.close(clientFD)
    }

    private func shedOneConnection() {
        guard spareFD.isOpen else { return }
        spareFD.close()
        if case .done(let clientFD)? = try? Socket.accept(fd.rawValue) {
            Socket.close(clientFD)
        }
        spareFD = FileDescriptor(taking: open("/dev/null", O_RDONLY | O_CLOEXEC))
        shared.logger.warning("out of file descriptors; shed a connection (raise the open-file limit)")
    }

    /// Unregisters and closes, on the loop thread.
    func close() {
        loop.unregister(fd: fd.rawValue)
        closeDescriptors()
    }

    /// Closes without the loop: for a listener whose loop has stopped because `start` failed
    /// (closing an fd also takes it out of every epoll set).
    func closeDescriptors() {
        fd.close()
        spareFD.close()
    }
}
