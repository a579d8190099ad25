import Foundation
import Synchronization

/// Runs a command-line tool found on `PATH` (`openssl`, `gzip`) and returns its standard output.
package enum ExternalTool {
    /// One launch at a time: Foundation's `Process.run()` on Linux crashed in a `memmove` twice
    /// in full parallel runs (two suites launching tools at once, with a working directory each);
    /// the tools take milliseconds, so taking turns costs nothing measurable.
    private static let launching = Mutex(())

    /// Runs `body`, which starts and waits for a child process, while no other test does.
    package static func serially<T>(_ body: () throws -> T) rethrows -> T {
        try launching.withLock { _ in try body() }
    }

    @discardableResult
    static func run(_ tool: String, _ arguments: [String], in directory: String) throws -> [UInt8] {
        try serially { try launch(tool, arguments, in: directory) }
    }

    private static func launch(_ tool: String, _ arguments: [String], in directory: String) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [tool] + arguments
        process.currentDirectoryURL = URL(fileURLWithPath: directory)
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        process.standardInput = FileHandle.nullDevice
        try process.run()
        // Read both pipes before waiting: a tool blocked on a full pipe would never exit. What
        // these tools print on stderr is far below a pipe's 64 KiB, so reading stdout first is safe.
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationReason == .exit, process.terminationStatus == 0 else {
            throw TestClientError.tool(
                command: ([tool] + arguments).joined(separator: " "), status: process.terminationStatus,
                output: String(decoding: stderr, as: UTF8.self))
        }
        return Array(stdout)
    }
}

/// gzip bodies made with the `gzip` tool, so the test does not trust the decoder under test to
/// produce its own input.
package enum Gzip {
    /// `bytes` compressed with `gzip -9`.
    package static func compress(_ bytes: [UInt8]) throws -> [UInt8] {
        let directory = try TempDirectory(prefix: "parley-gzip")
        try directory.write(bytes, to: "input")
        return try ExternalTool.run("gzip", ["-9", "-c", "-n", "input"], in: directory.path)
    }
}
