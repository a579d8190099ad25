import Dispatch
import Foundation

/// A thread that owns one SQLite connection: the only thread that ever uses it, and the one
/// that closes it. The writer, the checkpointer and each reader are one, so every SQLite call
/// Parley makes runs on a thread of its own, never on Swift's cooperative pool (whose two
/// threads serve every request), and a connection opened `NOMUTEX` is never shared.
///
/// The owner decides what a turn does: once started, after every `wake()` the thread runs its
/// turn with the connection; when a turn returns false the thread closes the connection and
/// ends, and `join()` returns. Wake-ups are counted (a semaphore), so one given while a turn
/// runs is not lost.
final class ConnectionThread: Sendable {
    private let name: String
    private let box: ConnectionBox
    private let wakeSignal: DispatchSemaphore
    private let finished = DispatchSemaphore(value: 0)

    /// Takes the connection; nothing runs until `start`. `name` is also the kernel's name of the
    /// thread when it fits in 15 bytes (Linux refuses longer ones). `wake` may be shared by several threads
    /// (readers serving one queue: each signal wakes one of them); by default the thread has its own.
    init(name: String, connection: sending SQLiteConnection, wake: DispatchSemaphore = DispatchSemaphore(value: 0)) {
        self.name = name
        box = ConnectionBox(connection)
        wakeSignal = wake
    }

    /// Starts the thread (once), which runs `turn` after each wake-up until it returns false.
    func start(_ turn: @escaping @Sendable (SQLiteConnection) -> Bool) {
        let (box, wake, finished, name) = (box, wakeSignal, finished, name)
        let thread = Thread {
            let connection = box.connection
            // Set from the thread itself, Foundation also gives the kernel the name (top -H, perf,
            // /proc/…/comm: 15 bytes); set before `start`, only Foundation knows it.
            Thread.current.name = name
            while true {
                wake.wait()
                guard turn(connection) else { break }
            }
            connection.close()
            finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Makes the thread run a turn (now, or after the one running).
    func wake() {
        wakeSignal.signal()
    }

    /// Waits until the thread has ended (a turn returned false) and closed its connection.
    func join() {
        finished.wait()
    }
}

/// Carries a connection into the thread that owns it from then on.
final class ConnectionBox: @unchecked Sendable {
    // @unchecked: created before the owning thread starts and used only by that thread after.
    let connection: SQLiteConnection
    init(_ connection: sending SQLiteConnection) { self.connection = connection }
}
