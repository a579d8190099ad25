import Foundation
import Transport

/// JSON bodies for handlers.
public enum JSONResponse {
    private static let encoder: JSONEncoder = {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.withoutEscapingSlashes]
        return encoder
    }()

    /// Encodes `value` as the response body with `Content-Type: application/json`.
    public static func make(_ value: some Encodable, status: Int = 200) throws -> HTTPResponse {
        let data = try encoder.encode(value)
        return HTTPResponse(status: status, headers: ["Content-Type": "application/json"], body: Array(data))
    }
}
