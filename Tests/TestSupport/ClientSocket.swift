import Foundation
import Glibc

/// A non-blocking TCP socket connected to 127.0.0.1 (or another IPv4 literal), with every wait
/// done in `poll(2)` against a deadline. It is the one owner of its fd; `RawClient` and
/// `TLSClient` sit on top of it.
final class ClientSocket {
    private(set) var fd: Int32
    /// How long one operation (connect, one send, one response) may wait.
    let timeout: Duration

    /// Connects and waits for the TCP handshake to finish.
    /// - Parameter receiveBufferSize: `SO_RCVBUF` before connecting, which also turns off the
    ///   kernel's receive-buffer autotuning: bounds how much a client that does not read can
    ///   hold in its own socket.
    init(host: String, port: Int, timeout: Duration, receiveBufferSize: Int? = nil) throws {
        self.timeout = timeout
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        guard inet_pton(AF_INET, host, &address.sin_addr) == 1 else {
            throw TestClientError.system(errno: EINVAL, operation: "inet_pton(\(host))")
        }
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw TestClientError.system(errno: errno, operation: "socket") }
        self.fd = fd
        // Disable Nagle so a byte-at-a-time send really leaves as one segment per byte.
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))

        if let receiveBufferSize {
            var size = Int32(receiveBufferSize)
            _ = setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
        }

        let deadline = Self.deadline(after: timeout)
        let result = withUnsafePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        if result != 0 {
            let code = errno
            guard code == EINPROGRESS else {
                close()
                throw TestClientError.system(errno: code, operation: "connect to \(host):\(port)")
            }
            do {
                try wait(for: Int16(POLLOUT), until: deadline, operation: "connect to \(host):\(port)")
            } catch {
                close()
                throw error
            }
            var failure: Int32 = 0
            var length = socklen_t(MemoryLayout<Int32>.size)
            _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &failure, &length)
            if failure != 0 {
                close()
                throw TestClientError.system(errno: failure, operation: "connect to \(host):\(port)")
            }
        }
    }

    deinit {
        // Tests may throw between opening and closing a client; closing here keeps fds from
        // leaking across the whole test run.
        close()
    }

    /// Monotonic nanoseconds `duration` from now.
    static func deadline(after duration: Duration) -> UInt64 {
        let (seconds, attoseconds) = duration.components
        return monotonicNanos() &+ UInt64(max(0, seconds)) &* 1_000_000_000 &+ UInt64(max(0, attoseconds) / 1_000_000_000)
    }

    static func monotonicNanos() -> UInt64 {
        var now = timespec()
        clock_gettime(CLOCK_MONOTONIC, &now)
        return UInt64(now.tv_sec) &* 1_000_000_000 &+ UInt64(now.tv_nsec)
    }

    /// Blocks in `poll(2)` until the fd is ready for `events` or the deadline passes.
    func wait(for events: Int16, until deadline: UInt64, operation: String) throws {
        precondition(fd >= 0, "socket used after close")  // a bug in the test, not an input
        while true {
            let now = Self.monotonicNanos()
            guard now < deadline else { throw TestClientError.timedOut(operation: operation) }
            var entry = pollfd(fd: fd, events: events, revents: 0)
            let millis = Int32(min(UInt64(Int32.max), (deadline - now + 999_999) / 1_000_000))
            let ready = poll(&entry, 1, millis)
            if ready < 0 {
                if errno == EINTR { continue }
                throw TestClientError.system(errno: errno, operation: "poll")
            }
            // POLLHUP/POLLERR also end the wait: the next read or write reports what happened.
            if ready > 0 { return }
        }
    }

    /// Sends every byte of `bytes`, waiting while the socket buffer is full.
    func sendAll(_ bytes: UnsafeRawBufferPointer, deadline: UInt64) throws {
        var offset = 0
        while offset < bytes.count {
            let sent = send(fd, bytes.baseAddress! + offset, bytes.count - offset, Int32(MSG_NOSIGNAL))
            if sent >= 0 {
                offset += sent
                continue
            }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLOUT), until: deadline, operation: "send")
            default: throw TestClientError.system(errno: errno, operation: "send")
            }
        }
    }

    /// What one receive produced.
    enum Received {
        case bytes([UInt8])
        /// The peer's FIN.
        case endOfStream
        /// The peer reset the connection (RST): it closed with unread data, or aborted.
        case reset
    }

    /// Receives whatever is available, waiting up to the deadline for at least one byte.
    func receive(deadline: UInt64, operation: String) throws -> Received {
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let count = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            if count > 0 { return .bytes(Array(chunk[..<count])) }
            if count == 0 { return .endOfStream }
            switch errno {
            case EINTR: continue
            case EAGAIN, EWOULDBLOCK: try wait(for: Int16(POLLIN), until: deadline, operation: operation)
            case ECONNRESET: return .reset
            default: throw TestClientError.system(errno: errno, operation: "recv")
            }
        }
    }

    /// `shutdown(SHUT_WR)`: sends our FIN while the read side stays open (a half-close).
    func shutdownWrite() throws {
        guard shutdown(fd, Int32(SHUT_WR)) == 0 else {
            throw TestClientError.system(errno: errno, operation: "shutdown(SHUT_WR)")
        }
    }

    /// Closes with `SO_LINGER` 0, so the kernel sends RST instead of FIN: a client that vanishes.
    func abort() {
        guard fd >= 0 else { return }
        var linger = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &linger, socklen_t(MemoryLayout<linger>.size))
        close()
    }

    func close() {
        guard fd >= 0 else { return }
        // close(2) releases the fd even when it reports EINTR, so it is never retried.
        _ = Glibc.close(fd)
        fd = -1
    }
}
