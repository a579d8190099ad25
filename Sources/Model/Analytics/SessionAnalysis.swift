/// What one turn (a trace in a session) contributes to session analytics: the attributes it sent
/// and the aggregates of its observations. The store reads these from typed columns.
package struct TurnFacts: Sendable, Equatable {
    package var traceID: String
    /// Trace start, ms since the epoch.
    package var timestamp: Int64
    /// The last observation end (or the start when the turn has none).
    package var lastEnd: Int64
    /// The session-tracking attributes the turn sent.
    package var tracking: SessionTracking
    /// The largest input-token count of the turn's generations (peak, not sum: each call sends
    /// the whole context again).
    package var peakInputTokens: Int64?
    /// The model of that generation.
    package var peakModel: String?

    package init(traceID: String, timestamp: Int64, lastEnd: Int64? = nil, tracking: SessionTracking = SessionTracking()) {
        self.traceID = traceID
        self.timestamp = timestamp
        self.lastEnd = lastEnd ?? timestamp
        self.tracking = tracking
    }
}

/// Where a turn's number came from.
package enum TurnNumberSource: String, Sendable {
    /// `turn.number` or `conversation.turn_number` as the app sent it.
    case sent
    /// Assigned by Parley from the turn's start time: one after the turn before it.
    case derived
}

/// What Parley derived for one turn; stored on the trace so reads and analytics use columns.
package struct TurnDerivation: Sendable, Equatable {
    package var number: Int64
    package var source: TurnNumberSource
    /// `missing_number`, `duplicate_number`, `out_of_order`, in that order, when they apply.
    package var flags: [String]
    package var contextTokens: Int64?
    package var contextLimit: Int64?
    package var contextPercent: Double?
    /// `sent` when the app sent the tokens or percent, `derived` when Parley took the peak
    /// generation input over the model's window, nil when neither is known.
    package var contextSource: String?

    package init(number: Int64, source: TurnNumberSource, flags: [String] = [], contextTokens: Int64? = nil,
                contextLimit: Int64? = nil, contextPercent: Double? = nil, contextSource: String? = nil) {
        self.number = number
        self.source = source
        self.flags = flags
        self.contextTokens = contextTokens
        self.contextLimit = contextLimit
        self.contextPercent = contextPercent
        self.contextSource = contextSource
    }
}

/// Problems with a session's turn numbers (the "missing turn numbers" anti-pattern and its kin).
package struct TurnIssues: Sendable, Equatable {
    /// Turns that sent no number (Parley assigned one).
    package var missing: Int = 0
    /// Numbers more than one turn of the same conversation carry.
    package var duplicates: [Int64] = []
    /// Numbers absent between 1 (or 0) and the highest, per conversation: the lowest
    /// `ValueBounds.listedTurnGaps` of them.
    package var gaps: [Int64] = []
    /// How many numbers are absent in all (saturating), listed or not.
    package var gapCount: Int64 = 0
    /// Turns whose sent number is lower than one sent by an earlier turn.
    package var outOfOrder: Int = 0

    package init() {}

    package var isEmpty: Bool { missing == 0 && duplicates.isEmpty && gaps.isEmpty && outOfOrder == 0 }

    package var json: JSONValue {
        .object([
            ("missing", JSONValue(missing)), ("duplicates", .array(duplicates.map { JSONValue(Int($0)) })),
            ("gaps", .array(gaps.map { JSONValue(Int($0)) })), ("gapCount", JSONValue(Int(gapCount))),
            ("outOfOrder", JSONValue(outOfOrder)),
        ])
    }
}

/// A session's journey, from its turns' `journey.*` attributes.
package struct JourneyProgress: Sendable, Equatable {
    package var name: String?
    /// The furthest stage reached: highest `stage_number`, else the latest stage sent.
    package var stage: String?
    package var stageNumber: Int64?
    package var totalStages: Int64?
    package var converted = false
    /// `journey.conversion_turn` when sent, else the number of the first turn marked converted.
    package var conversionTurn: Int64?
    /// From the session's first turn to the start of the first converted turn.
    package var conversionTimeMs: Int64?

    package init() {}
}

/// An end a turn declared with `session.end_reason`.
package struct AttributeEnd: Sendable, Equatable {
    package var reason: String
    /// The declaring turn's last activity.
    package var time: Int64

    package init(reason: String, time: Int64) {
        self.reason = reason
        self.time = time
    }
}

/// Everything a session's turns say about it, computed from its turns in time order. A pure
/// function of the turns, so the stored result never depends on arrival order.
package struct SessionAnalysis: Sendable, Equatable {
    package var turns: [TurnDerivation] = []
    /// `sent`, `derived` or `mixed`; nil for a session without turns.
    package var numberSource: String?
    package var issues = TurnIssues()
    package var conversationCount = 0
    package var lastTurnNumber: Int64?
    /// `dropoff.last_intent` of the latest turn that sent one, else the last turn's `turn.input_type`.
    package var lastIntent: String?
    /// The latest `dropoff.agent_last_action` sent, if any.
    package var agentLastAction: String?
    /// The latest `session.end_reason` a turn sent, with that turn's end.
    package var attributeEnd: AttributeEnd?
    package var journey = JourneyProgress()
    /// The stages the session entered, in order (what a journey funnel reads).
    package var journeyPath: [StageEntry] = []
    package var contextMaxPercent: Double?
    package var contextMaxTokens: Int64?
    /// The number of the earliest turn (by start time) at or above 80% of its context window.
    package var contextFirstTurnOver80: Int64?

    package init() {}

    /// The share of its window at which a turn counts as near the limit.
    package static let contextAlertPercent = 80.0

    /// Analyses `turns`, which must be in time order (start, then trace id).
    package static func analyse(_ turns: [TurnFacts], windows: ContextWindows = ContextWindows()) -> SessionAnalysis {
        var result = SessionAnalysis()
        guard !turns.isEmpty else { return result }
        result.turns = number(turns, issues: &result.issues)
        let sentCount = result.turns.count { $0.source == .sent }
        result.numberSource = sentCount == turns.count ? "sent" : sentCount == 0 ? "derived" : "mixed"
        result.conversationCount = Set(turns.map { $0.tracking.conversationID ?? "" }).count
        result.lastTurnNumber = result.turns.last?.number

        for (index, turn) in turns.enumerated() {
            if let intent = turn.tracking.dropoffLastIntent { result.lastIntent = intent }
            if let action = turn.tracking.dropoffAgentLastAction { result.agentLastAction = action }
            if let reason = turn.tracking.sessionEndReason { result.attributeEnd = AttributeEnd(reason: reason, time: turn.lastEnd) }
            journey(turn, number: result.turns[index].number, first: turns[0].timestamp, into: &result.journey)
            context(turn, windows: windows, into: &result.turns[index])
            let derived = result.turns[index]
            if let percent = derived.contextPercent {
                if result.contextMaxPercent.map({ percent > $0 }) ?? true {
                    result.contextMaxPercent = percent
                    result.contextMaxTokens = derived.contextTokens
                }
                // Turns are in time order: the first one over the line is the earliest.
                if percent >= contextAlertPercent, result.contextFirstTurnOver80 == nil {
                    result.contextFirstTurnOver80 = derived.number
                }
            }
        }
        if result.lastIntent == nil { result.lastIntent = turns.last?.tracking.turnInputType }
        result.journeyPath = StageEntry.path(of: turns)
        return result
    }

    /// Turn numbers per conversation: the sent number, else one more than the turn before it in
    /// time order (so a session that sends none is numbered 1, 2, 3 … by start time, and a late
    /// turn slots in where its start time puts it). Issues are judged on the resulting numbers.
    ///
    /// The work is linear in the turns (plus a sort), whatever numbers they carry: gaps are found
    /// between neighbouring numbers and counted as ranges, never by walking the numbers, and all
    /// arithmetic saturates, since stored rows may predate `ValueBounds.ordinal`.
    static func number(_ turns: [TurnFacts], issues: inout TurnIssues) -> [TurnDerivation] {
        var derived = [TurnDerivation](repeating: TurnDerivation(number: 0, source: .derived), count: turns.count)
        var byConversation: [String: [Int]] = [:]
        var order: [String] = []
        for (index, turn) in turns.enumerated() {
            let key = turn.tracking.conversationID ?? ""
            if byConversation[key] == nil { order.append(key) }
            byConversation[key, default: []].append(index)
        }
        var duplicates = Set<Int64>()
        var missing: [ClosedRange<Int64>] = []
        for key in order {
            let indices = byConversation[key] ?? []
            var previous: Int64 = 0
            var highestSent: Int64?
            var counts: [Int64: Int] = [:]
            var outOfOrder = Set<Int>()
            for index in indices {
                let number: Int64
                if let sent = turns[index].tracking.turnNumber {
                    number = sent
                    if let highest = highestSent, sent < highest { outOfOrder.insert(index) }
                    highestSent = max(highestSent ?? sent, sent)
                    derived[index].source = .sent
                } else {
                    number = previous.addingSaturating(1)
                }
                previous = number
                counts[number, default: 0] += 1
                derived[index].number = number
            }
            issues.outOfOrder += outOfOrder.count
            for index in indices {
                let number = derived[index].number
                let isDuplicate = (counts[number] ?? 0) > 1
                if isDuplicate { duplicates.insert(number) }
                if derived[index].source == .derived { issues.missing += 1 }
                derived[index].flags = [
                    derived[index].source == .derived ? "missing_number" : nil,
                    isDuplicate ? "duplicate_number" : nil,
                    outOfOrder.contains(index) ? "out_of_order" : nil,
                ].compactMap { $0 }
            }
            missing += gapRanges(counts.keys.sorted())
        }
        issues.duplicates = duplicates.sorted()
        (issues.gaps, issues.gapCount) = listed(missing, limit: ValueBounds.listedTurnGaps)
        return derived
    }

    /// The numbers absent from `numbers` (ascending, distinct) between 1 (or the lowest, when
    /// that is below 1) and the highest, as ranges: one per pair of neighbours at most.
    static func gapRanges(_ numbers: [Int64]) -> [ClosedRange<Int64>] {
        guard let lowest = numbers.first else { return [] }
        var ranges: [ClosedRange<Int64>] = []
        // The lowest number not yet seen nor counted missing.
        var expected = min(lowest, 1)
        for number in numbers {
            if number > expected { ranges.append(expected...(number - 1)) }
            guard number < .max else { break }
            expected = number + 1
        }
        return ranges
    }

    /// The lowest `limit` numbers of the union of `ranges`, and the size of the union (saturating).
    static func listed(_ ranges: [ClosedRange<Int64>], limit: Int) -> ([Int64], Int64) {
        var numbers: [Int64] = []
        var count: Int64 = 0
        var covered: Int64?  // the highest number counted so far
        for range in ranges.sorted(by: { $0.lowerBound < $1.lowerBound }) {
            var lower = range.lowerBound
            if let covered {
                guard covered < range.upperBound else { continue }
                lower = max(lower, covered + 1)
            }
            // upper - lower + 1, saturating: the range may span most of Int64.
            count = count.addingSaturating(range.upperBound.subtractingSaturating(lower).addingSaturating(1))
            var next = lower
            while numbers.count < limit {
                numbers.append(next)
                guard next < range.upperBound else { break }
                next += 1
            }
            covered = range.upperBound
        }
        return (numbers, count)
    }

    static func journey(_ turn: TurnFacts, number: Int64, first: Int64, into journey: inout JourneyProgress) {
        if let name = turn.tracking.journeyName { journey.name = name }
        if let total = turn.tracking.journeyTotalStages { journey.totalStages = total }
        if let stageNumber = turn.tracking.journeyStageNumber {
            if journey.stageNumber.map({ stageNumber >= $0 }) ?? true {
                journey.stageNumber = stageNumber
                journey.stage = turn.tracking.journeyStage ?? journey.stage
            }
        } else if let stage = turn.tracking.journeyStage, journey.stageNumber == nil {
            journey.stage = stage
        }
        if let sent = turn.tracking.journeyConversionTurn { journey.conversionTurn = sent }
        if turn.tracking.journeyConverted == true, !journey.converted {
            journey.converted = true
            if journey.conversionTurn == nil { journey.conversionTurn = number }
            journey.conversionTimeMs = max(0, turn.timestamp.subtractingSaturating(first))
        }
    }

    /// A turn's context use: what it sent, else its peak generation input over the model's window.
    static func context(_ turn: TurnFacts, windows: ContextWindows, into derived: inout TurnDerivation) {
        let sent = turn.tracking.contextTokens != nil || turn.tracking.contextWindowPercent != nil
        let tokens = turn.tracking.contextTokens ?? turn.peakInputTokens.flatMap { $0 > 0 ? $0 : nil }
        let limit = turn.tracking.contextLimit ?? windows.window(for: turn.peakModel)
        var percent = turn.tracking.contextWindowPercent
        if percent == nil, let tokens, let limit, limit > 0 {
            percent = (Double(tokens) / Double(limit) * 1000).rounded() / 10
        }
        derived.contextTokens = tokens
        derived.contextLimit = limit
        derived.contextPercent = percent
        derived.contextSource = tokens == nil && percent == nil ? nil : sent ? "sent" : "derived"
    }
}

extension SessionAnalysis {
    /// Score names read as user satisfaction (case-insensitive; `-` and spaces count as `_`).
    package static let satisfactionScoreNames: Set<String> = [
        "user_satisfaction", "satisfaction", "csat", "user_feedback", "feedback", "user_rating", "rating",
    ]

    package static func isSatisfactionScore(_ name: String) -> Bool {
        satisfactionScoreNames.contains(normalisedLabel(name))
    }
}
