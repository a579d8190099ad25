import Foundation
import Transport

/// One request captured from a real SDK (`Tests/Fixtures/sdk/<client>/<name>.headers` plus
/// `<name>.json`): the request line, the headers exactly as received, the body bytes, and the
/// status the capture server answered.
package struct CapturedRequest: Sendable {
    package let method: String
    package let target: String
    /// Header fields in capture order, names spelled as the SDK sent them.
    package let headers: [(name: String, value: String)]
    package let body: [UInt8]
    /// The status in the `# response: NNN` line of the `.headers` file.
    package let capturedStatus: Int?

    /// The first value of `name` (case-insensitive), e.g. `Authorization`.
    package func header(_ name: String) -> String? {
        headers.first { $0.name.lowercased() == name.lowercased() }?.value
    }

    /// The same request as Parley's transport would hand it to the application.
    package var httpRequest: HTTPRequest {
        var fields = HTTPHeaders()
        for field in headers { fields.add(field.name, field.value) }
        return HTTPRequest(method: method, target: target, headers: fields, body: body)
    }
}

/// The SDK wire captures copied into `Tests/Fixtures/sdk/` (see the README there). Paths are
/// found from this file's own location, so tests need no SwiftPM resources.
package enum SDKFixtures {
    /// Absolute path of `Tests/Fixtures/sdk`.
    package static let directory: String = URL(fileURLWithPath: #filePath)
        .deletingLastPathComponent()  // TestSupport
        .deletingLastPathComponent()  // Tests
        .appendingPathComponent("Fixtures/sdk").path

    /// The bytes of `relativePath` under `Tests/Fixtures/sdk`, e.g. `langfuse-python-2.60.10/expected.json`.
    package static func bytes(_ relativePath: String) throws -> [UInt8] {
        let path = "\(directory)/\(relativePath)"
        guard let data = FileManager.default.contents(atPath: path) else {
            throw FixtureError(path: path, reason: "not found")
        }
        return Array(data)
    }

    /// The captured request `name` (without extension), e.g. `langfuse-python-2.60.10/ingestion-batch-1`.
    package static func request(_ name: String) throws -> CapturedRequest {
        let head = String(decoding: try bytes("\(name).headers"), as: UTF8.self)
        let body = try bytes("\(name).json")
        var lines = head.split(separator: "\n", omittingEmptySubsequences: false).map {
            $0.hasSuffix("\r") ? String($0.dropLast()) : String($0)
        }
        guard !lines.isEmpty else { throw FixtureError(path: "\(name).headers", reason: "empty") }
        let requestLine = lines.removeFirst().split(separator: " ")
        guard requestLine.count == 3 else {
            throw FixtureError(path: "\(name).headers", reason: "bad request line")
        }
        var headers: [(name: String, value: String)] = []
        var status: Int?
        for line in lines {
            if line.hasPrefix("# response:") {
                status = Int(line.dropFirst("# response:".count).trimmingCharacters(in: .whitespaces))
            } else if let colon = line.firstIndex(of: ":") {
                headers.append((
                    name: String(line[..<colon]),
                    value: line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)))
            }
        }
        return CapturedRequest(
            method: String(requestLine[0]), target: String(requestLine[1]), headers: headers, body: body,
            capturedStatus: status)
    }
}

/// A fixture file is missing or not in the expected format.
package struct FixtureError: Error, CustomStringConvertible, Sendable {
    package let path: String
    package let reason: String

    package init(path: String, reason: String) {
        self.path = path
        self.reason = reason
    }

    package var description: String { "fixture \(path): \(reason)" }
}
