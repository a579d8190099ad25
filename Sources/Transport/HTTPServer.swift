import Foundation
import Logging
import Synchronization

/// The HTTP/1.1 server: a fixed set of event-loop threads, each owning its own listeners (one
/// per port, sharing it with `SO_REUSEPORT`) and its connections. Never a thread per connection.
package final class HTTPServer: Sendable {
    /// A bound listener, with the real port when 0 was asked for.
    package struct BoundAddress: Sendable, CustomStringConvertible {
        package let scheme: String
        package let host: String
        package let port: Int

        package var description: String {
            let host = self.host.contains(":") ? "[\(self.host)]" : self.host
            return "\(scheme)://\(host):\(port)"
        }
    }

    private struct Running {
        var loops: [EventLoop]
        var listeners: [Listener]
        var addresses: [BoundAddress]
    }

    package let configuration: ServerConfiguration
    package let stats: TransportStats
    private let shared: ServerShared
    private let running = Mutex<Running?>(nil)

    /// Builds a server; nothing is bound until `start()`. Loads the TLS certificate now, so a
    /// bad path fails before any port is opened.
    package init(
        configuration: ServerConfiguration, responder: any HTTPResponder,
        observer: (any TransportObserver)? = nil, stats: TransportStats = TransportStats(), logger: Logger
    ) throws {
        self.configuration = configuration
        self.stats = stats
        var context: TLSContext?
        if configuration.tlsPort != nil {
            guard let tls = configuration.tls else {
                throw TLSError(operation: "TLS listener", reasons: ["a TLS port needs --tls-cert and --tls-key"])
            }
            context = try TLSContext(configuration: tls)
        }
        shared = ServerShared(
            configuration: configuration, responder: responder, observer: observer,
            stats: stats, logger: logger, tlsContext: context)
    }

    /// Binds every listener and starts the loops. Returns the bound addresses.
    @discardableResult
    package func start() throws -> [BoundAddress] {
        System.ignoreSIGPIPE()
        let threadCount = max(1, configuration.eventLoopThreads)
        var loops: [EventLoop] = []
        for index in 0..<threadCount {
            loops.append(try EventLoop(index: index, configuration: configuration))
        }

        var plan: [(fds: [Int32], isTLS: Bool, address: BoundAddress)] = []
        do {
            for (port, isTLS) in [(configuration.port, false), (configuration.tlsPort, true)] {
                guard let port else { continue }
                var fds: [Int32] = []
                var boundPort = port
                for _ in 0..<threadCount {
                    let fd = try Socket.listen(
                        host: configuration.host, port: boundPort, backlog: configuration.backlog, reusePort: true)
                    fds.append(fd)
                    // The first bind may pick an ephemeral port; the others must share it.
                    if boundPort == 0 { boundPort = try Socket.localPort(fd) }
                }
                plan.append((fds, isTLS, BoundAddress(scheme: isTLS ? "https" : "http", host: configuration.host, port: boundPort)))
            }
        } catch {
            for entry in plan { entry.fds.forEach(Socket.close) }
            throw error
        }

        var listeners: [Listener] = []
        for entry in plan {
            for (index, fd) in entry.fds.enumerated() {
                listeners.append(Listener(fd: fd, isTLS: entry.isTLS, loop: loops[index], shared: shared))
            }
        }
        for (index, loop) in loops.enumerated() {
            loop.start(name: "parley-io-\(index)")
        }
        // Registration must happen on each loop's thread.
        let failures = Mutex<[any Error]>([])
        let group = DispatchGroup()
        for listener in listeners {
            group.enter()
            let loop = loops[listenerLoopIndex(listener, listeners: listeners, loops: loops.count)]
            loop.execute { [listener = UnsafeTransfer(listener)] in
                do throws(SystemError) {
                    try listener.value.start()
                } catch {
                    failures.withLock { $0.append(error) }
                }
                group.leave()
            }
        }
        group.wait()
        if let failure = failures.withLock({ $0.first }) {
            loops.forEach { $0.stopAndWait() }
            listeners.forEach { $0.closeDescriptors() }
            throw failure
        }
        let addresses = plan.map(\.address)
        running.withLock { $0 = Running(loops: loops, listeners: listeners, addresses: addresses) }
        return addresses
    }

    private func listenerLoopIndex(_ listener: Listener, listeners: [Listener], loops: Int) -> Int {
        // Listeners were created loop by loop for each port, so the position modulo the loop count
        // is the owning loop.
        (listeners.firstIndex { $0 === listener } ?? 0) % loops
    }

    /// Addresses bound by `start()`.
    package var addresses: [BoundAddress] {
        running.withLock { $0?.addresses ?? [] }
    }

    /// Reloads the certificate and key from the configured paths. New connections use the new
    /// pair; connections already open keep theirs. On failure the old pair stays in use.
    package func reloadTLS() throws {
        guard let tls = configuration.tls, configuration.tlsPort != nil else { return }
        let context = try TLSContext(configuration: tls)
        shared.tlsContext.withLock { $0 = context }
    }

    /// Graceful shutdown: stop accepting, let in-flight requests finish within the grace period,
    /// close everything, stop the loops. Blocks until done; safe to call more than once.
    package func shutdown() {
        guard let state = running.withLock({ state -> Running? in
            defer { state = nil }
            return state
        }) else { return }
        shared.shuttingDown.store(true, ordering: .relaxed)
        shared.observer?.transportShuttingDown()
        let loopCount = state.loops.count
        let listenersByLoop = Dictionary(grouping: state.listeners.enumerated()) { $0.offset % loopCount }
        for (index, loop) in state.loops.enumerated() {
            let listeners = UnsafeTransfer(listenersByLoop[index]?.map(\.element) ?? [])
            let done = DispatchSemaphore(value: 0)
            loop.execute { [loop = UnsafeTransfer(loop)] in
                listeners.value.forEach { $0.close() }
                for case let connection as HTTPConnection in loop.value.handlers {
                    connection.beginShutdown()
                }
                done.signal()
            }
            done.wait()
        }
        let deadline = MonotonicClock.nanos() &+ configuration.shutdownGracePeriod.nanoseconds
        while stats.openConnections > 0 && MonotonicClock.nanos() < deadline {
            usleep(5_000)
        }
        if stats.openConnections > 0 {
            shared.logger.warning("grace period over; closing \(stats.openConnections) connection(s)")
            for loop in state.loops {
                let done = DispatchSemaphore(value: 0)
                loop.execute { [loop = UnsafeTransfer(loop)] in
                    for case let connection as HTTPConnection in loop.value.handlers { connection.close() }
                    done.signal()
                }
                done.wait()
            }
        }
        state.loops.forEach { $0.stopAndWait() }
    }
}

/// Moves a non-Sendable reference into a task that runs on the loop that owns it.
struct UnsafeTransfer<Value>: @unchecked Sendable {
    // @unchecked: used only to hand loop-owned objects to that same loop's thread, where they
    // are then used exclusively.
    let value: Value
    init(_ value: Value) { self.value = value }
}
