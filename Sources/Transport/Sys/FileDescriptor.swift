/// The one owner of an open file descriptor: it closes it exactly once, and a debug build stops
/// when an owner goes away with its fd still open (a leak), as NIO's `BaseSocket` does.
///
/// Noncopyable, so two owners of one fd cannot exist; `rawValue` is for the syscalls, and is
/// -1 once the fd is closed or handed on.
struct FileDescriptor: ~Copyable {
    private(set) var rawValue: Int32

    /// Takes ownership of `rawValue`; a negative value (a failed `open`) owns nothing.
    init(taking rawValue: Int32) {
        self.rawValue = rawValue
    }

    var isOpen: Bool { rawValue >= 0 }

    /// Closes the fd; later calls do nothing.
    mutating func close() {
        guard rawValue >= 0 else { return }
        Socket.close(rawValue)
        rawValue = -1
    }

    /// Hands the fd to a new owner without closing it.
    mutating func takeOwnership() -> Int32 {
        defer { rawValue = -1 }
        return rawValue
    }

    deinit {
        // Every path that drops an owner closes or hands on its fd first; one that does not leaks
        // a descriptor per connection, which only shows once the process runs out of them.
        assert(rawValue < 0, "file descriptor \(rawValue) was never closed")
    }
}
