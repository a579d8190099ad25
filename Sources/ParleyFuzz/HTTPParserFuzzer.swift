import Transport

/// Feeds the input to `HTTPParser` as a connection does (append what arrived, then `next()`
/// until it needs more), once whole and once in chunks of random size. TCP may split a stream
/// anywhere, so both runs must yield the same requests and stop with the same error; every
/// request must also respect the limits it was parsed under.
enum HTTPParserFuzzer {
    /// Small limits, so that inputs of a few kilobytes reach every limit check.
    static let smallLimits: HTTPParser.Limits = {
        var limits = HTTPParser.Limits()
        limits.maxHeaderBytes = 256
        limits.maxHeaderCount = 8
        limits.maxBodyBytes = 512
        limits.maxChunkLineBytes = 16
        return limits
    }()

    /// Past this many consumed bytes `HTTPParser.append` compacts its buffer, a path only long
    /// pipelined streams reach: one input in 16 is repeated until it gets there.
    static let compactionThreshold = 64 * 1024

    static func run(_ input: [UInt8]) {
        var random = InputRandom(input)
        let limits = random.next() % 2 == 0 ? HTTPParser.Limits() : smallLimits
        var bytes = input
        if !input.isEmpty && random.next() % 16 == 0 {
            bytes = Array(repeating: input, count: compactionThreshold / input.count + 2).flatMap { $0 }
        }
        let whole = ParseTranscript(feeding: [bytes[...]], limits: limits)
        let chunks = split(bytes, &random)
        let chunked = ParseTranscript(feeding: chunks, limits: limits)
        fuzzCheck(whole == chunked, """
            whole and chunked parses differ (chunks \(chunks.map(\.count)))
            whole:   \(whole)
            chunked: \(chunked)
            """)
    }

    /// One byte at a time, or up to 8, 64 or 4096 bytes per chunk.
    static func split(_ input: [UInt8], _ random: inout InputRandom) -> [ArraySlice<UInt8>] {
        let largest = [1, 8, 64, 4096][random.next(in: 0...3)]
        var chunks: [ArraySlice<UInt8>] = []
        var start = 0
        while start < input.count {
            let end = min(input.count, start + random.next(in: 1...largest))
            chunks.append(input[start..<end])
            start = end
        }
        return chunks
    }
}
