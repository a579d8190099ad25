import Glibc

/// A failed system call, captured right after the call so `errno` is still the call's own.
package struct SystemError: Error, CustomStringConvertible, Sendable {
    /// The `errno` value the call left behind.
    package let errno: Int32
    /// The call that failed, e.g. `"bind"`.
    package let operation: String

    package init(errno: Int32, operation: String) {
        self.errno = errno
        self.operation = operation
    }

    package var description: String {
        "\(operation) failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// What a non-blocking I/O call produced.
enum IOResult<T> {
    case done(T)
    /// `EAGAIN`/`EWOULDBLOCK`: try again when epoll says the fd is ready.
    case wouldBlock
}

/// Runs `body` and retries on `EINTR`; any other negative result becomes a thrown `SystemError`,
/// except `EAGAIN`, which becomes `.wouldBlock`.
@inline(__always)
func syscall<T: FixedWidthInteger>(
    _ operation: String, _ body: () -> T
) throws(SystemError) -> IOResult<T> {
    while true {
        let result = body()
        if result >= 0 { return .done(result) }
        let code = Glibc.errno
        switch code {
        case EINTR: continue
        case EAGAIN, EWOULDBLOCK: return .wouldBlock
        case EBADF, EFAULT:
            // Either means we passed a closed fd or a bad pointer: a bug in Parley, not an input.
            preconditionFailure("\(operation): \(String(cString: strerror(code)))")
        default:
            throw SystemError(errno: code, operation: operation)
        }
    }
}

/// Like `syscall(_:_:)` for calls that never return `EAGAIN` (setup calls on blocking paths).
@inline(__always)
func syscallOrThrow<T: FixedWidthInteger>(
    _ operation: String, _ body: () -> T
) throws(SystemError) -> T {
    switch try syscall(operation, body) {
    case .done(let value): return value
    case .wouldBlock: throw SystemError(errno: EAGAIN, operation: operation)
    }
}
