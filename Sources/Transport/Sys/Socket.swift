import CLinux
import Glibc

/// Thin, throwing wrappers over the socket calls the transport uses. Every fd here is non-blocking.
enum Socket {
    /// Opens a non-blocking listening socket on `host:port`.
    ///
    /// - Parameter reusePort: set `SO_REUSEPORT` so that each event loop can own a listener on the
    ///   same port and the kernel spreads new connections across them.
    static func listen(host: String, port: Int, backlog: Int32, reusePort: Bool) throws(SystemError) -> Int32 {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV
        var result: UnsafeMutablePointer<addrinfo>?
        let status = getaddrinfo(host == "*" ? nil : host, String(port), &hints, &result)
        guard status == 0, let first = result else {
            throw SystemError(errno: EADDRNOTAVAIL, operation: "getaddrinfo(\(host))")
        }
        defer { freeaddrinfo(result) }

        let fd = try syscallOrThrow("socket") {
            Glibc.socket(first.pointee.ai_family, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        }
        do {
            try setOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)
            if reusePort { try setOption(fd, SOL_SOCKET, SO_REUSEPORT, 1) }
            _ = try syscallOrThrow("bind") { Glibc.bind(fd, first.pointee.ai_addr, first.pointee.ai_addrlen) }
            _ = try syscallOrThrow("listen") { Glibc.listen(fd, backlog) }
        } catch {
            Glibc.close(fd)
            throw error
        }
        return fd
    }

    /// The port a socket is bound to, read back with `getsockname` (how port 0 becomes a real port).
    static func localPort(_ fd: Int32) throws(SystemError) -> Int {
        var storage = sockaddr_storage()
        var length = socklen_t(MemoryLayout<sockaddr_storage>.size)
        _ = try withUnsafeMutablePointer(to: &storage) { pointer throws(SystemError) in
            try pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { address throws(SystemError) in
                try syscallOrThrow("getsockname") { getsockname(fd, address, &length) }
            }
        }
        switch Int32(storage.ss_family) {
        case AF_INET:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin_port)) }
            }
        case AF_INET6:
            return withUnsafePointer(to: &storage) {
                $0.withMemoryRebound(to: sockaddr_in6.self, capacity: 1) { Int(UInt16(bigEndian: $0.pointee.sin6_port)) }
            }
        default:
            throw SystemError(errno: EAFNOSUPPORT, operation: "getsockname")
        }
    }

    /// Accepts one pending connection as a non-blocking, close-on-exec fd.
    static func accept(_ listener: Int32) throws(SystemError) -> IOResult<Int32> {
        try syscall("accept4") {
            clinux_accept4(listener, Int32(SOCK_NONBLOCK.rawValue) | Int32(SOCK_CLOEXEC.rawValue))
        }
    }

    /// Reads into `buffer`; `.done(0)` means the peer closed its side.
    static func read(_ fd: Int32, into buffer: UnsafeMutableRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try syscall("read") { Glibc.read(fd, buffer.baseAddress, buffer.count) }
    }

    /// Writes as much of `bytes` as the socket takes. MSG_NOSIGNAL keeps a closed peer from raising SIGPIPE.
    static func write(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) throws(SystemError) -> IOResult<Int> {
        try syscall("send") { Glibc.send(fd, bytes.baseAddress, bytes.count, Int32(MSG_NOSIGNAL)) }
    }

    static func setOption(_ fd: Int32, _ level: Int32, _ name: Int32, _ value: Int32) throws(SystemError) {
        var value = value
        _ = try syscallOrThrow("setsockopt") {
            setsockopt(fd, level, name, &value, socklen_t(MemoryLayout<Int32>.size))
        }
    }

    /// Disables Nagle: responses are written whole, and delaying them only adds latency.
    static func setNoDelay(_ fd: Int32) {
        var one: Int32 = 1
        _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    }

    /// Shuts down the write side so the peer reads our final bytes before seeing the close.
    static func shutdownWrite(_ fd: Int32) {
        _ = Glibc.shutdown(fd, Int32(SHUT_WR))
    }

    /// Sets `SO_LINGER` to zero, so the next `close` sends RST instead of FIN and drops unsent
    /// bytes (socket(7)): the peer sees an error rather than a clean end of stream.
    static func resetOnClose(_ fd: Int32) {
        var option = linger(l_onoff: 1, l_linger: 0)
        _ = setsockopt(fd, SOL_SOCKET, SO_LINGER, &option, socklen_t(MemoryLayout<linger>.size))
    }

    static func close(_ fd: Int32) {
        // close(2) on Linux releases the fd even when it returns EINTR, so it must not be retried.
        _ = Glibc.close(fd)
    }
}
