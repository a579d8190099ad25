import CLinux

/// An epoll event mask (epoll_ctl(2)), named so that code outside `Loop/` needs no C module.
struct EpollEvents: OptionSet, Sendable {
    let rawValue: UInt32

    init(rawValue: UInt32) { self.rawValue = rawValue }

    /// EPOLLIN: bytes to read, or the peer's FIN.
    static var readable: EpollEvents { EpollEvents(rawValue: clinux_epollin()) }
    /// EPOLLOUT: the socket takes more bytes.
    static var writable: EpollEvents { EpollEvents(rawValue: clinux_epollout()) }
    /// EPOLLERR: a pending socket error; reported whether asked for or not.
    static var error: EpollEvents { EpollEvents(rawValue: clinux_epollerr()) }
    /// EPOLLHUP: both directions are shut; reported whether asked for or not.
    static var hangUp: EpollEvents { EpollEvents(rawValue: clinux_epollhup()) }
    /// EPOLLRDHUP: the peer shut its write side (half-close).
    static var readHangUp: EpollEvents { EpollEvents(rawValue: clinux_epollrdhup()) }

    /// What a connection that wants to read asks for.
    static var input: EpollEvents { [.readable, .readHangUp] }
    /// Anything that means a read would not block: data, FIN, hang-up or a pending error.
    static var readReady: EpollEvents { [.readable, .readHangUp, .hangUp, .error] }
}

/// The 64 bits epoll hands back with each event: the fd, and the generation it was registered
/// under, so that an event for a closed and reused fd is recognised and dropped (NIO's
/// `EPollUserData` does the same).
struct EpollUserData: Equatable, Sendable {
    let rawValue: UInt64

    init(rawValue: UInt64) { self.rawValue = rawValue }

    init(fd: Int32, generation: UInt32) {
        rawValue = UInt64(generation) << 32 | UInt64(UInt32(bitPattern: fd))
    }

    /// The loop's own eventfd: no registered fd can carry this value, since generations start at 1.
    static let wake = EpollUserData(rawValue: UInt64.max)

    var fd: Int32 { Int32(bitPattern: UInt32(truncatingIfNeeded: rawValue)) }
    var generation: UInt32 { UInt32(truncatingIfNeeded: rawValue >> 32) }
}
