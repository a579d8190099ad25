/// The code under fuzzing, one case per libFuzzer target (scripts/reliability/fuzz.sh runs each
/// in turn). Every target takes arbitrary bytes, must return for any of them, and traps through
/// `fuzzCheck` when a property that should hold for every input does not.
enum FuzzTarget: String, CaseIterable, Sendable {
    /// `HTTPParser` fed the bytes whole and in random chunks: same requests and same error.
    case http
    /// A request whose body is the input, under `Content-Encoding: gzip` or `deflate`.
    case httpGzip = "http-gzip"
    /// `JSONParser`, with a write-and-reparse round trip and the PII masker.
    case json
    /// A batch body through `EventValidator`, the privacy policy and `Merge`.
    case ingestion
    /// `OTLPDecoder.decodeProtobuf`, then the OTLP mapper, privacy policy and `Merge`.
    case otlpProtobuf = "otlp-protobuf"
    /// `OTLPDecoder.decodeJSON`, then as `otlp-protobuf`.
    case otlpJSON = "otlp-json"
    /// Well-formed batches and OTLP exports with extreme numbers and dates, through validation,
    /// merge, session analysis, settings and the read path's formatting (`ExtremeValuesFuzzer`).
    case extremeValues = "extreme-values"
    /// `SafePattern` compiling and matching any text, and `ModelDefinition.create` on any body
    /// (a client's model prices; `ModelPatternFuzzer`).
    case modelPattern = "model-pattern"
    /// A planted bug: traps on inputs that start with `FUZZ`. fuzz.sh runs it first, so that a
    /// harness that would miss or not report crashes fails instead of passing quietly.
    case control

    /// Runs one input.
    func run(_ input: [UInt8]) {
        switch self {
        case .http: HTTPParserFuzzer.run(input)
        case .httpGzip: ContentCodingFuzzer.run(input)
        case .json: JSONFuzzer.run(input)
        case .ingestion: IngestionFuzzer.run(input)
        case .otlpProtobuf: OTLPFuzzer.runProtobuf(input)
        case .otlpJSON: OTLPFuzzer.runJSON(input)
        case .extremeValues: ExtremeValuesFuzzer.run(input)
        case .modelPattern: ModelPatternFuzzer.run(input)
        case .control: fuzzCheck(!input.starts(with: Array("FUZZ".utf8)), "the control target's planted crash")
        }
    }
}

/// Stops the process when a fuzzing property fails. The message goes to stderr first; the trap
/// is what libFuzzer records as a crash and saves the input for. (This is a test harness: no
/// server code path reaches it.)
func fuzzCheck(_ condition: Bool, _ message: @autoclosure () -> String) {
    guard !condition else { return }
    fatalError("fuzz property failed: \(message())")
}
