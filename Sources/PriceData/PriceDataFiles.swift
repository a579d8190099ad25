import Foundation

/// The built-in model price table: `Data/langfuse-default-model-prices.json`, Langfuse's
/// published table (MIT; `Data/NOTICE.txt` gives its source and licence), put into the binary
/// at build time by the EmbedConsoleAssets plugin.
package enum PriceDataFiles {
    /// The table's JSON bytes.
    package static var defaultModelPrices: [UInt8] { file("langfuse-default-model-prices.json") }
    /// The table's source and licence notice.
    package static var notice: String { String(decoding: file("NOTICE.txt"), as: UTF8.self) }

    static func file(_ name: String) -> [UInt8] {
        guard let base64 = EmbeddedFiles.all.first(where: { $0.name == name })?.base64 else {
            preconditionFailure("\(name) is not embedded")  // both files are in Data/, a build input
        }
        // The generator wrote this literal from the file's bytes, so it always decodes.
        guard let data = Data(base64Encoded: base64) else { preconditionFailure("embedded \(name) is not base64") }
        return Array(data)
    }
}
