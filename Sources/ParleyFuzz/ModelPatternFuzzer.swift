import Model

/// `SafePattern` and `ModelDefinition.create` on arbitrary bytes: a client POSTs its own
/// `matchPattern`, so compiling any text must return (a pattern or a reason), and matching any
/// model name must finish in linear time (the driver's per-input alarm fails a hang). The
/// first byte splits the input into the pattern and the text it is matched against; the whole
/// input is also tried as a `CreateModelRequest` body.
enum ModelPatternFuzzer {
    static func run(_ input: [UInt8]) {
        guard let first = input.first else { return }
        let rest = Array(input.dropFirst())
        let split = min(Int(first), rest.count)
        let pattern = String(decoding: rest[..<split], as: UTF8.self)
        let text = String(decoding: rest[split...], as: UTF8.self)
        for insensitive in [false, true] {
            guard let compiled = try? SafePattern(pattern, caseInsensitive: insensitive) else { continue }
            let answer = compiled.matches(text)
            fuzzCheck(compiled.matches(text) == answer, "matching \(pattern) twice gave two answers")
            // An anchored copy can only match where the pattern does.
            if let anchored = try? SafePattern("^(?:\(pattern))$", caseInsensitive: insensitive), anchored.matches(text) {
                fuzzCheck(answer, "^(?:\(pattern))$ matched \(text) but \(pattern) did not")
            }
        }
        if let body = try? JSONParser.parse(input),
           let definition = try? ModelDefinition.create(request: body, id: "fuzz", createdAtMillis: 0) {
            let decoded = try? ModelDefinition.decode(definition.json, managed: false)
            fuzzCheck(decoded == definition, "a created model does not read back from its JSON: \(definition.json.jsonText)")
        }
    }
}
