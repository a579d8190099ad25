import CLinux
import Foundation
import Glibc
import Synchronization

/// Something registered with an event loop: a listener or a connection.
protocol EventHandler: AnyObject {
    /// Called on the loop thread with the epoll event mask.
    func handle(events: EpollEvents)
    /// Called on the loop thread every timer tick with the monotonic time.
    func tick(now: UInt64)
}

/// One thread, one epoll instance, and the handlers it owns.
///
/// Everything except `execute(_:)` and `stop()` must be called on the loop thread. Other threads
/// hand work in through a mutex-guarded queue and an eventfd wake-up.
final class EventLoop: @unchecked Sendable {
    // @unchecked: `slots`, `running` and the read buffer are touched only on the loop thread
    // (checked with `assertInLoop`); `queue` is a Mutex; `epollFD`/`wakeFD` change only in
    // `deinit`.

    private struct Slot {
        var generation: UInt32
        var handler: any EventHandler
    }

    let index: Int
    private var epollFD: FileDescriptor
    private var wakeFD: FileDescriptor
    private let queue = Mutex<[@Sendable () -> Void]>([])
    private let stopRequested = Atomic<Bool>(false)
    private let wakes = Atomic<Int>(0)
    private var slots: [Slot?] = []
    private var nextGeneration: UInt32 = 1
    private var thread: Thread?
    private let threadFinished = DispatchSemaphore(value: 0)
    private let timerResolutionNanos: UInt64
    private let eventBatchSize: Int
    nonisolated(unsafe) private static var currentLoopKey = pthread_key_t()
    private static let keyCreated: Bool = {
        pthread_key_create(&currentLoopKey, nil)
        return true
    }()

    /// Shared by every connection of this loop: a read lands here and is consumed at once.
    let readBuffer: UnsafeMutableRawBufferPointer
    /// `Date` header value, refreshed once a second on the loop thread.
    private(set) var dateHeader: [UInt8] = HTTPDate.now()
    private var dateRefreshedAt: UInt64 = 0

    /// - Parameters:
    ///   - timerResolution: how often deadlines are checked (`ServerConfiguration.timerResolution`).
    ///   - readBufferBytes: size of the shared read buffer (`ServerConfiguration.readBufferBytes`).
    ///   - eventBatchSize: events per `epoll_wait` (`ServerConfiguration.eventBatchSize`).
    init(index: Int, timerResolution: Duration, readBufferBytes: Int, eventBatchSize: Int) throws(SystemError) {
        _ = Self.keyCreated
        self.index = index
        timerResolutionNanos = max(1_000_000, timerResolution.nanoseconds)
        self.eventBatchSize = max(1, eventBatchSize)
        var epollFD = FileDescriptor(
            taking: try syscallOrThrow("epoll_create1") { epoll_create1(Int32(EPOLL_CLOEXEC)) })
        var wakeFD = FileDescriptor(taking: eventfd(0, Int32(EFD_NONBLOCK) | Int32(EFD_CLOEXEC)))
        guard wakeFD.isOpen else {
            let code = errno
            epollFD.close()
            throw SystemError(errno: code, operation: "eventfd")
        }
        var event = epoll_event()
        event.events = EpollEvents.readable.rawValue
        event.data.u64 = EpollUserData.wake.rawValue
        guard epoll_ctl(epollFD.rawValue, EPOLL_CTL_ADD, wakeFD.rawValue, &event) == 0 else {
            let code = errno
            wakeFD.close()
            epollFD.close()
            throw SystemError(errno: code, operation: "epoll_ctl(eventfd)")
        }
        self.epollFD = epollFD
        self.wakeFD = wakeFD
        readBuffer = .allocate(byteCount: max(1, readBufferBytes), alignment: 16)
    }

    /// A loop with the tuning of `configuration`.
    convenience init(index: Int, configuration: ServerConfiguration) throws(SystemError) {
        try self.init(
            index: index, timerResolution: configuration.timerResolution,
            readBufferBytes: configuration.readBufferBytes, eventBatchSize: configuration.eventBatchSize)
    }

    deinit {
        readBuffer.deallocate()
        wakeFD.close()
        epollFD.close()
    }

    /// True on this loop's own thread.
    var inLoop: Bool {
        pthread_getspecific(Self.currentLoopKey) == Unmanaged.passUnretained(self).toOpaque()
    }

    func assertInLoop() {
        assert(inLoop, "called off the event loop thread")
    }

    /// Starts the loop thread.
    func start(name: String) {
        let thread = Thread { [self] in
            // Set from the thread itself, Foundation also gives the kernel the name (top -H, perf,
            // /proc/…/comm: 15 bytes); set before `start`, only Foundation knows it.
            Thread.current.name = name
            pthread_setspecific(Self.currentLoopKey, Unmanaged.passUnretained(self).toOpaque())
            run()
            threadFinished.signal()
        }
        thread.name = name
        thread.stackSize = 1 << 20
        self.thread = thread
        thread.start()
    }

    /// Runs `task` on the loop thread, soon. Safe from any thread.
    ///
    /// Only the task that finds the queue empty writes the eventfd: the loop takes the whole
    /// queue at once (`runQueuedTasks`), so a task queued behind another runs with it, and a
    /// burst of completions (a group commit resuming many requests) costs one wake-up.
    func execute(_ task: @escaping @Sendable () -> Void) {
        let first = queue.withLock { queue -> Bool in
            queue.append(task)
            return queue.count == 1
        }
        if first { wake() }
    }

    /// eventfd writes so far (`execute` and stop), for tests.
    var wakeCount: Int { wakes.load(ordering: .relaxed) }

    private func wake() {
        wakes.add(1, ordering: .relaxed)
        var one: UInt64 = 1
        _ = Glibc.write(wakeFD.rawValue, &one, 8)
    }

    /// Asks the loop to exit after its current iteration and waits for the thread to end.
    func stopAndWait() {
        stopRequested.store(true, ordering: .releasing)
        wake()
        threadFinished.wait()
    }

    // MARK: Registration (loop thread only)

    /// Registers `handler` for `fd`; returns the generation stored next to the fd in epoll's data
    /// so that events for a closed and reused fd are recognised and dropped.
    @discardableResult
    func register(fd: Int32, events: EpollEvents, handler: any EventHandler) throws(SystemError) -> UInt32 {
        assertInLoop()
        let generation = nextGeneration
        nextGeneration &+= 1
        if nextGeneration == 0 { nextGeneration = 1 }
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = EpollUserData(fd: fd, generation: generation).rawValue
        _ = try syscallOrThrow("epoll_ctl(ADD)") { epoll_ctl(epollFD.rawValue, EPOLL_CTL_ADD, fd, &event) }
        let slot = Int(fd)
        if slot >= slots.count {
            slots.append(contentsOf: repeatElement(nil, count: max(slot + 1 - slots.count, slots.count)))
        }
        slots[slot] = Slot(generation: generation, handler: handler)
        return generation
    }

    /// Changes the interest set of a registered fd.
    func modify(fd: Int32, generation: UInt32, events: EpollEvents) {
        assertInLoop()
        var event = epoll_event()
        event.events = events.rawValue
        event.data.u64 = EpollUserData(fd: fd, generation: generation).rawValue
        _ = epoll_ctl(epollFD.rawValue, EPOLL_CTL_MOD, fd, &event)
    }

    /// Removes `fd`; call before closing it.
    func unregister(fd: Int32) {
        assertInLoop()
        _ = epoll_ctl(epollFD.rawValue, EPOLL_CTL_DEL, fd, nil)
        if Int(fd) < slots.count { slots[Int(fd)] = nil }
    }

    /// Every registered handler, for shutdown.
    var handlers: [any EventHandler] {
        assertInLoop()
        return slots.compactMap { $0?.handler }
    }

    // MARK: The loop

    private func run() {
        let capacity = eventBatchSize
        let events = UnsafeMutablePointer<epoll_event>.allocate(capacity: capacity)
        defer { events.deallocate() }
        var nextTick = MonotonicClock.nanos() &+ timerResolutionNanos
        while !stopRequested.load(ordering: .acquiring) {
            let now = MonotonicClock.nanos()
            let waitMillis = now >= nextTick ? 0 : Int32(min(1000, (nextTick - now) / 1_000_000 + 1))
            let count = epoll_wait(epollFD.rawValue, events, Int32(capacity), waitMillis)
            if count < 0 {
                if errno == EINTR { continue }
                preconditionFailure("epoll_wait: \(String(cString: strerror(errno)))")
            }
            for i in 0..<Int(count) {
                let event = events[i]
                let data = EpollUserData(rawValue: event.data.u64)
                if data == .wake {
                    drainWake()
                    continue
                }
                let fd = Int(data.fd)
                guard fd >= 0, fd < slots.count, let slot = slots[fd], slot.generation == data.generation else { continue }
                slot.handler.handle(events: EpollEvents(rawValue: event.events))
            }
            runQueuedTasks()
            let after = MonotonicClock.nanos()
            if after >= nextTick {
                nextTick = after &+ timerResolutionNanos
                refreshDate(now: after)
                for slot in slots { slot?.handler.tick(now: after) }
            }
        }
        runQueuedTasks()
    }

    private func drainWake() {
        var value: UInt64 = 0
        _ = Glibc.read(wakeFD.rawValue, &value, 8)
    }

    private func runQueuedTasks() {
        // Swap the queue out under the lock, run outside it: tasks may enqueue more tasks.
        while true {
            let tasks = queue.withLock { queue -> [@Sendable () -> Void] in
                let taken = queue
                queue.removeAll(keepingCapacity: true)
                return taken
            }
            if tasks.isEmpty { return }
            for task in tasks { task() }
        }
    }

    private func refreshDate(now: UInt64) {
        if now &- dateRefreshedAt >= 500_000_000 {
            dateRefreshedAt = now
            dateHeader = HTTPDate.now()
        }
    }
}
