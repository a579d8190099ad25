import Foundation

/// The web console's files (HTML, CSS, ES modules, icon), put into the binary at build time by
/// the EmbedConsoleAssets plugin from `Web/`: nothing is read from disk at run time.
package enum ConsoleAssetFiles {
    /// Every embedded file by name, decoded once on first use.
    package static let byName: [String: [UInt8]] = {
        var files: [String: [UInt8]] = [:]
        for (name, base64) in EmbeddedFiles.all {
            // The generator wrote this literal from the file's bytes, so it always decodes.
            guard let data = Data(base64Encoded: base64) else { preconditionFailure("embedded \(name) is not base64") }
            files[name] = Array(data)
        }
        return files
    }()

    /// Total bytes of every embedded file.
    package static var totalBytes: Int { byName.values.reduce(0) { $0 + $1.count } }
}
