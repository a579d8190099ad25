/// The bounds on numbers a client sends, in one place (docs/CONFIGURATION.md, "Bounds on client
/// values", lists them with what happens past each).
///
/// Every number a client can send either has a bound here, checked before the value is used,
/// or is only stored and compared: no arithmetic on a client value may trap, and no loop or
/// allocation may be sized by one. Past a bound, a field the API defines is refused (a 400, or a
/// per-event 400 inside a batch); a session-tracking attribute, which is free-form metadata, is
/// kept in the metadata as sent and ignored for analytics, like a value of the wrong kind.
package enum ValueBounds {
    /// Largest magnitude of one usage count (tokens, characters, milliseconds, ...): a million
    /// times any context window. Batch ingestion rejects an event with a larger count (400);
    /// the fold ignores one. Aggregates add counts up saturating, and at this bound a sum only
    /// saturates after 9 million maximal counts.
    package static let maxCount: Int64 = 1_000_000_000_000

    /// `value` as a count when it is a whole number within ±`maxCount`.
    package static func count(_ value: JSONValue?) -> Int64? {
        guard let whole = value?.intValue, (-maxCount...maxCount).contains(whole) else { return nil }
        return whole
    }

    /// Largest cost in USD one usage or cost field may carry: a sum of a billion of them is
    /// still finite. Batch ingestion rejects a larger one (400); the fold ignores one.
    package static let maxCost: Double = 1_000_000_000

    /// Turn numbers, stage numbers and other ordinals or small counts a turn sends
    /// (`turn.number`, `conversation.total_turns`, `journey.stage_number`, `turn.tool_calls`, …).
    package static let ordinal: ClosedRange<Int64> = 0...1_000_000_000

    /// Token counts a turn sends (`context.tokens`, `context.limit`).
    package static let tokens: ClosedRange<Int64> = 0...maxCount

    /// Durations a turn sends in milliseconds (`turn.latency_ms`, `journey.time_in_stage_ms`):
    /// up to 100 years.
    package static let durationMs: ClosedRange<Int64> = 0...3_155_760_000_000

    /// Context-window use in percent (`context.window_pct`): over 100 is a window overrun.
    package static let percent: ClosedRange<Double> = 0...1_000

    /// Largest magnitude of a numeric score value.
    package static let maxScoreMagnitude: Double = 1e15

    /// Length of an id (event, trace, observation, score, session), in characters.
    package static let identifierLength = 1...800

    /// Why `text` cannot be an id (langfuse-api.md §3.6: 1 to 800 characters without a carriage
    /// return; and no NUL, which C strings and logs would cut at), or nil when it can.
    package static func identifierProblem(_ text: String) -> String? {
        // UTF-8 length first: counting characters walks grapheme breaks. A byte scan for CR also
        // catches "\r\n", which is one Character and so missed by `contains("\r")`.
        guard !text.isEmpty, text.utf8.count <= identifierLength.upperBound || text.count <= identifierLength.upperBound,
              !text.utf8.contains(UInt8(ascii: "\r")) else {
            return "must be 1 to 800 characters without a carriage return"
        }
        return text.utf8.contains(0) ? "must not contain NUL" : nil
    }

    /// The first gaps in a session's turn numbers that are listed; `gapCount` says how many
    /// there are in all.
    package static let listedTurnGaps = 100

    // MARK: Project settings (PATCH /api/public/projects/{id}/settings, `parley projects set`)

    /// `inactivityTimeoutSeconds`: a second to a year.
    package static let inactivityTimeoutSeconds: ClosedRange<Int64> = 1...31_536_000
    /// `retentionDays`: a day to a hundred years.
    package static let retentionDays: ClosedRange<Int64> = 1...36_500
    /// A `contextWindows` size in tokens.
    package static let contextWindowTokens: ClosedRange<Int64> = 1...1_000_000_000
    /// Entries in `contextWindows`: each turn's model is matched against all of them.
    package static let contextWindowEntries = 1_000
    /// Length of a model name in `contextWindows`, in UTF-8 bytes.
    package static let modelNameBytes = 200

    // MARK: Model prices (POST /api/public/models, `parley models add`; docs/DATA_MODEL.md, "Model prices")

    /// Models a project may define: each new model name is matched against all of them once.
    package static let modelsPerProject = 1_000
    /// Pricing tiers in one model.
    package static let pricingTiersPerModel = 20
    /// Conditions in one pricing tier.
    package static let conditionsPerTier = 10
    /// Usage types priced in one tier.
    package static let pricesPerTier = 200
    /// Values an attribute condition lists.
    package static let conditionValues = 100
    /// A tier's priority.
    package static let maxTierPriority = 1_000
    /// Length of a tier's `usageDetailPattern`, in characters.
    package static let usagePatternLength = 200
    /// Largest price of one unit, in USD; prices are finite and not negative. An inferred cost
    /// (units × price) is capped at `maxCost` like a sent one.
    package static let maxUnitPrice: Double = 1_000_000
    /// Longest model name that is priced, in characters: a longer one matches no price.
    package static let pricedModelNameLength = 1_000
    /// Automaton steps a project's own patterns may take together to price one model name
    /// (`PriceTable.candidates`); past it the name gets no inferred cost. Each new name is
    /// matched once per writer connection, so this bounds what a project's patterns can cost the
    /// writer per distinct name: a few milliseconds.
    package static let patternStepsPerName = 1_000_000
}

extension Int64 {
    /// `self + other`, or the nearest bound when that overflows.
    package func addingSaturating(_ other: Int64) -> Int64 {
        let (sum, overflow) = addingReportingOverflow(other)
        return overflow ? (other > 0 ? .max : .min) : sum
    }

    /// `self - other`, or the nearest bound when that overflows.
    package func subtractingSaturating(_ other: Int64) -> Int64 {
        let (difference, overflow) = subtractingReportingOverflow(other)
        return overflow ? (other < 0 ? .max : .min) : difference
    }

    /// `self * other`, or the nearest bound when that overflows.
    package func multipliedSaturating(by other: Int64) -> Int64 {
        let (product, overflow) = multipliedReportingOverflow(by: other)
        return overflow ? ((self < 0) == (other < 0) ? .max : .min) : product
    }
}
