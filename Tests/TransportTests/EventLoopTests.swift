import Dispatch
import Synchronization
import Testing
@testable import Transport

/// Work handed to an event loop from other threads (issue #18, "completions posted to a loop
/// once per batch, not one eventfd write per response").
@Suite("Event loop hand-offs")
struct EventLoopTests {
    @Test func aBurstOfTasksQueuedWhileTheLoopIsBusyCostsOneWakeUpAndAllRun() throws {
        var configuration = ServerConfiguration()
        configuration.timerResolution = .milliseconds(10)
        let loop = try EventLoop(index: 0, configuration: configuration)
        loop.start(name: "parley-test-loop")
        defer { loop.stopAndWait() }
        let started = DispatchSemaphore(value: 0)
        let release = DispatchSemaphore(value: 0)
        // Holds the loop thread, so that the burst below queues up behind it.
        loop.execute {
            started.signal()
            release.wait()
        }
        started.wait()
        let ran = Atomic<Int>(0)
        let done = DispatchSemaphore(value: 0)
        for _ in 0..<100 {
            loop.execute {
                if ran.add(1, ordering: .relaxed).newValue == 100 { done.signal() }
            }
        }
        release.signal()
        done.wait()
        #expect(ran.load(ordering: .relaxed) == 100)
        // One write for the blocking task, one for the first of the burst; none for the other 99.
        #expect(loop.wakeCount == 2)
    }
}
