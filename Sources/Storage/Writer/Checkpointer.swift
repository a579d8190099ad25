import Dispatch
import Foundation
import Synchronization

/// Checkpoints the WAL on its own thread and connection, so that no commit waits for one.
///
/// SQLite's default runs a checkpoint inside the commit that pushes the WAL past 1,000 frames:
/// that commit then copies every frame into the database file and fsyncs it while the writer,
/// and every ingestion request queued behind it, waits. With the writer's automatic checkpoint
/// replaced by a WAL hook, the writer only reports the WAL's size after each commit; past
/// `framesPerCheckpoint` this thread runs a PASSIVE checkpoint, which copies frames while the
/// writer keeps appending. Durability is unchanged: a commit is in the WAL (and, with
/// `synchronous=FULL`, fsynced) before it is acknowledged, whoever later copies it.
///
/// PASSIVE never waits, so a reader holding an old snapshot, or a writer faster than the disk,
/// can keep the WAL from being reused. Past `maxWALFrames` a RESTART follows the PASSIVE one:
/// it waits (up to the busy timeout) for the writer lock and for readers, so writes stall while
/// it runs, and the WAL stays bounded. The PASSIVE checkpoint first copies what it can while the
/// writer goes on, so the RESTART holds writers only for the frames committed meanwhile.
///
/// How the WAL gets there: a PASSIVE checkpoint that finishes while the writer keeps committing
/// leaves the newest frames uncopied, and SQLite reuses the WAL from its start only when a
/// write begins with every frame copied. Under steady writes the WAL therefore keeps growing,
/// and a checkpoint slowed by the disk (a 2 s fsync while the page cache writes back a large
/// file) lets it grow fast: RESTART alone then copied 17,000 frames with writes stalled for
/// 0.57 s (docs/BENCHMARKS.md, "Retention p99, explained").
final class Checkpointer: Sendable {
    struct Configuration: Sendable {
        /// WAL frames that start a passive checkpoint (SQLite's own default is 1,000).
        var framesPerCheckpoint = 1_000
        /// WAL frames past which the checkpoint waits for writers and readers (RESTART).
        /// 16,000 frames of 4 KiB pages is 64 MiB.
        var maxWALFrames = 16_000
    }

    private struct State {
        /// The WAL's size in frames after the last commit the writer reported.
        var walFrames = 0
        var requested = false
        var closed = false
    }

    private let configuration: Configuration
    private let state = Mutex(State())
    private let thread: ConnectionThread
    private let runs = Atomic<Int>(0)
    private let restarts = Atomic<Int>(0)

    /// Takes ownership of `connection` (read-write, on the same file as the writer), which is
    /// used only on the checkpointer's thread from now on.
    init(connection: sending SQLiteConnection, configuration: Configuration = Configuration()) {
        self.configuration = configuration
        thread = ConnectionThread(name: "parley-ckpt", connection: connection)
        thread.start { [self] connection in turn(connection) }
    }

    /// Checkpoints run so far, and how many of them were followed by a RESTART (for tests).
    var checkpointCount: Int { runs.load(ordering: .relaxed) }
    var restartCount: Int { restarts.load(ordering: .relaxed) }

    /// Called by the writer after each commit with the WAL's size in frames; starts a
    /// checkpoint when the WAL has grown enough and none is running. Cheap: one lock, no I/O.
    func walCommitted(frames: Int) {
        let start = state.withLock { state -> Bool in
            state.walFrames = frames
            guard !state.closed, !state.requested, frames >= configuration.framesPerCheckpoint else { return false }
            state.requested = true
            return true
        }
        if start { thread.wake() }
    }

    /// Stops the thread after any checkpoint in progress and closes its connection.
    func close() {
        let wasOpen = state.withLock { state -> Bool in
            defer { state.closed = true }
            return !state.closed
        }
        guard wasOpen else { return }
        thread.wake()
        thread.join()
    }

    /// One checkpoint; false once closed, which ends the thread.
    private func turn(_ connection: SQLiteConnection) -> Bool {
        let (closed, frames) = state.withLock { ($0.closed, $0.walFrames) }
        if closed { return false }
        // A failed checkpoint (busy, I/O error) loses nothing: the frames stay in the WAL,
        // readers still see them, and the next commit asks again.
        _ = try? connection.checkpoint(.passive)
        runs.add(1, ordering: .relaxed)
        if frames >= configuration.maxWALFrames {
            _ = try? connection.checkpoint(.restart)
            restarts.add(1, ordering: .relaxed)
        }
        state.withLock { $0.requested = false }
        return true
    }
}
