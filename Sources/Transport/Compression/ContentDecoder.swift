import CZlib

/// Undoes `Content-Encoding: gzip | deflate` (RFC 9110 §8.4.1) with zlib, stopping as soon as the
/// output passes `limit`, so a small compression bomb never becomes a large allocation.
enum ContentDecoder {
    /// Decodes `body`; `codings` are in the order they were applied, so they are undone in reverse.
    static func decode(_ body: [UInt8], codings: [String], limit: Int) throws(HTTPParseError) -> [UInt8] {
        var data = body
        for coding in codings.reversed() {
            switch coding {
            case "gzip", "x-gzip":
                // windowBits 16+15: expect a gzip header and trailer.
                data = try inflate(data, windowBits: 16 + 15, limit: limit)
            case "deflate":
                // RFC 9110 says "deflate" is zlib-wrapped; some clients send raw deflate, so try both.
                do {
                    data = try inflate(data, windowBits: 15, limit: limit)
                } catch .badRequest {
                    data = try inflate(data, windowBits: -15, limit: limit)
                }
            default:
                throw .unsupportedMediaType(coding)
            }
        }
        return data
    }

    private static func inflate(_ input: [UInt8], windowBits: Int32, limit: Int) throws(HTTPParseError) -> [UInt8] {
        if input.isEmpty { throw .badRequest("empty compressed body") }
        var stream = z_stream()
        guard czlib_inflate_init2(&stream, windowBits) == Z_OK else {
            throw .badRequest("could not initialise decompression")
        }
        defer { inflateEnd(&stream) }

        var output: [UInt8] = []
        output.reserveCapacity(min(limit, max(4096, input.count * 4)))
        let chunkSize = 64 * 1024
        var chunk = [UInt8](repeating: 0, count: chunkSize)
        try input.withUnsafeBufferPointer { inputBytes throws(HTTPParseError) in
            // zlib's next_in is not const-qualified but zlib never writes through it; the pointer
            // is used only inside this closure.
            stream.next_in = UnsafeMutablePointer(mutating: inputBytes.baseAddress)
            stream.avail_in = uInt(inputBytes.count)
            var status: Int32 = Z_OK
            while true {
                let produced: Int = chunk.withUnsafeMutableBufferPointer { out in
                    stream.next_out = out.baseAddress
                    stream.avail_out = uInt(chunkSize)
                    status = CZlib.inflate(&stream, Z_NO_FLUSH)
                    return chunkSize - Int(stream.avail_out)
                }
                if status != Z_OK && status != Z_STREAM_END && !(status == Z_BUF_ERROR && produced > 0) {
                    throw .badRequest("body does not match its Content-Encoding")
                }
                if output.count + produced > limit { throw .bodyTooLarge }
                output.append(contentsOf: chunk[0..<produced])
                if status == Z_STREAM_END {
                    if stream.avail_in == 0 { break }
                    // RFC 1952 §2.2: a gzip body (windowBits 16+15) is a series of members, each
                    // decoded in turn as `gzip -d` does. After a zlib or raw deflate stream, extra
                    // bytes would be silently dropped, so they are an error.
                    guard windowBits > 15 else { throw .badRequest("data after the end of the compressed body") }
                    guard inflateReset(&stream) == Z_OK else { throw .badRequest("could not restart decompression") }
                    continue
                }
                if produced == 0 && stream.avail_in == 0 {
                    throw .badRequest("truncated compressed body")
                }
            }
            stream.next_in = nil
        }
        return output
    }
}
