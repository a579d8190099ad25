import Foundation
import Glibc

/// A fresh directory under the system temp dir, removed with everything in it when the last
/// reference goes away. Storage tests need a real file (WAL and readers do not work on
/// `:memory:`), and TLS tests need somewhere to write the certificates they generate.
package final class TempDirectory: Sendable {
    /// Absolute path of the directory, without a trailing slash.
    package let path: String

    /// Creates the directory with `mkdtemp(3)`, so two tests never share one.
    package init(prefix: String = "parley-test") throws {
        let base = ProcessInfo.processInfo.environment["TMPDIR"].flatMap { $0.isEmpty ? nil : $0 } ?? "/tmp"
        var template = Array("\(base)/\(prefix)-XXXXXX".utf8CString)
        let created = template.withUnsafeMutableBufferPointer { buffer in mkdtemp(buffer.baseAddress!) }
        guard created != nil else {
            throw TestClientError.system(errno: errno, operation: "mkdtemp")
        }
        path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    deinit {
        try? FileManager.default.removeItem(atPath: path)
    }

    /// The path of `name` inside this directory; nothing is created.
    package func file(_ name: String) -> String {
        "\(path)/\(name)"
    }

    /// Writes `contents` to `name` (replacing it) and returns its path.
    @discardableResult
    package func write(_ contents: [UInt8], to name: String) throws -> String {
        let target = file(name)
        try Data(contents).write(to: URL(fileURLWithPath: target))
        return target
    }
}
