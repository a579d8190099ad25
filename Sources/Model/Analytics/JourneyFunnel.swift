/// The stages one session went through, in the order it entered them: what the funnel needs of
/// a session, computed when the session is refreshed and stored with it (`sessions.journey_path`),
/// so a funnel reads one row per session instead of every turn.
package struct StageEntry: Sendable, Equatable {
    package var stage: String
    /// The lowest `journey.stage_number` its turns sent with this stage.
    package var stageNumber: Int64?
    /// The start of the session's first turn in this stage.
    package var enteredAt: Int64
    /// The largest `journey.time_in_stage_ms` its turns in this stage sent.
    package var measuredMs: Int64?

    package init(stage: String, stageNumber: Int64?, enteredAt: Int64, measuredMs: Int64?) {
        self.stage = stage
        self.stageNumber = stageNumber
        self.enteredAt = enteredAt
        self.measuredMs = measuredMs
    }

    /// The stages of `turns` (in time order), each once, in the order they were entered.
    package static func path(of turns: [TurnFacts]) -> [StageEntry] {
        var path: [StageEntry] = []
        // Stage name → its index in `path`: a session may send a new stage name with every turn.
        var positions: [String: Int] = [:]
        for turn in turns {
            guard let stage = turn.tracking.journeyStage else { continue }
            let number = turn.tracking.journeyStageNumber
            let measured = turn.tracking.journeyTimeInStageMs
            if let index = positions[stage] {
                if let number { path[index].stageNumber = min(path[index].stageNumber ?? number, number) }
                if let measured { path[index].measuredMs = max(path[index].measuredMs ?? measured, measured) }
            } else {
                positions[stage] = path.count
                path.append(StageEntry(stage: stage, stageNumber: number, enteredAt: turn.timestamp, measuredMs: measured))
            }
        }
        return path
    }

    /// `[[stage, number|null, enteredAt, measured|null], …]`, or nil for an empty path.
    package static func json(_ path: [StageEntry]) -> String? {
        guard !path.isEmpty else { return nil }
        return JSONValue.array(path.map { entry in
            .array([
                .string(entry.stage), entry.stageNumber.map { JSONValue(Int($0)) } ?? .null,
                JSONValue(Int(entry.enteredAt)), entry.measuredMs.map { JSONValue(Int($0)) } ?? .null,
            ])
        }).jsonText
    }

    /// Reads `json(_:)`'s text; entries it cannot read are skipped.
    package static func parse(_ text: String?) -> [StageEntry] {
        guard let text, let items = (try? JSONParser.parse(text))?.arrayValue else { return [] }
        return items.compactMap { item in
            guard let fields = item.arrayValue, fields.count == 4, let stage = fields[0].stringValue,
                  let enteredAt = fields[2].intValue else { return nil }
            return StageEntry(stage: stage, stageNumber: fields[1].intValue, enteredAt: enteredAt, measuredMs: fields[3].intValue)
        }
    }
}

/// A journey's funnel, computed from the stage path of each of its sessions
/// (docs/ANALYTICS.md, "Journeys").
package struct JourneyFunnel: Sendable, Equatable {
    /// One session of the journey.
    package struct SessionOutcome: Sendable, Equatable {
        package var sessionID: String
        package var lastActivity: Int64?
        package var converted: Bool
        package var conversionTurn: Int64?
        package var conversionTimeMs: Int64?
        package var path: [StageEntry]

        package init(
            sessionID: String, lastActivity: Int64?, converted: Bool, conversionTurn: Int64?, conversionTimeMs: Int64?,
            path: [StageEntry]
        ) {
            self.sessionID = sessionID
            self.lastActivity = lastActivity
            self.converted = converted
            self.conversionTurn = conversionTurn
            self.conversionTimeMs = conversionTimeMs
            self.path = path
        }
    }

    package struct Stage: Sendable, Equatable {
        package var name: String
        package var number: Int64?
        /// Sessions that reached this stage or a later one (a funnel only narrows).
        package var sessionsReached: Int
        /// Sessions with a turn in this very stage.
        package var sessionsInStage: Int
        /// `sessionsReached` over the previous stage's; nil for the first stage.
        package var conversionFromPrevious: Double?
        /// `sessionsReached` over all sessions of the journey.
        package var conversionFromStart: Double?
        package var medianTimeInStageMs: Int64?
    }

    package var sessions = 0
    package var converted = 0
    package var conversionRate: Double?
    package var stages: [Stage] = []
    package var medianConversionTurn: Int64?
    package var medianConversionTimeMs: Int64?

    package init() {}

    /// The funnel of `outcomes`; "first appearance" ties are broken in the order given.
    package init(sessions outcomes: [SessionOutcome]) {
        self.init()
        sessions = outcomes.count
        converted = outcomes.count { $0.converted }
        conversionRate = sessions == 0 ? nil : Double(converted) / Double(sessions)
        medianConversionTurn = Percentiles.median(outcomes.compactMap { $0.converted ? $0.conversionTurn : nil })
        medianConversionTimeMs = Percentiles.median(outcomes.compactMap { $0.converted ? $0.conversionTimeMs : nil })

        // Stage order: by stage number when sent (the lowest number a stage was sent with),
        // else by where the stage first appears.
        var order: [String: (number: Int64?, first: Int)] = [:]
        var seen = 0
        for outcome in outcomes {
            for entry in outcome.path {
                let known = order[entry.stage]
                order[entry.stage] = ([known?.number, entry.stageNumber].compactMap { $0 }.min(), known?.first ?? seen)
                seen += 1
            }
        }
        let names = order.keys.sorted { a, b in
            let (x, y) = (order[a]!, order[b]!)
            switch (x.number, y.number) {
            case let (p?, q?) where p != q: return p < q
            case (.some, nil): return true
            case (nil, .some): return false
            default: return x.first < y.first
            }
        }
        let position = Dictionary(uniqueKeysWithValues: names.enumerated().map { ($1, $0) })

        var reachedAtLeast = [Int](repeating: 0, count: names.count + 1)
        var inStage = [Int](repeating: 0, count: names.count)
        var times = [[Int64]](repeating: [], count: names.count)
        for outcome in outcomes {
            var furthest = -1
            for (index, entry) in outcome.path.enumerated() {
                guard let at = position[entry.stage] else { continue }
                furthest = max(furthest, at)
                inStage[at] += 1
                // Time in the stage: measured when sent, else until the next stage was entered
                // (or the session's last activity, for its last stage).
                if let measured = entry.measuredMs {
                    times[at].append(measured)
                } else if let next = index + 1 < outcome.path.count ? outcome.path[index + 1].enteredAt : outcome.lastActivity {
                    times[at].append(max(0, next.subtractingSaturating(entry.enteredAt)))
                }
            }
            if furthest >= 0 { reachedAtLeast[furthest] += 1 }
        }
        // Sessions whose furthest stage is at or after each position.
        for index in stride(from: names.count - 1, through: 0, by: -1) { reachedAtLeast[index] += reachedAtLeast[index + 1] }
        var previous: Int?
        stages = names.enumerated().map { index, name in
            let reached = reachedAtLeast[index]
            defer { previous = reached }
            return Stage(
                name: name, number: order[name]?.number, sessionsReached: reached, sessionsInStage: inStage[index],
                conversionFromPrevious: previous.flatMap { $0 == 0 ? nil : Double(reached) / Double($0) },
                conversionFromStart: sessions == 0 ? nil : Double(reached) / Double(sessions),
                medianTimeInStageMs: Percentiles.median(times[index]))
        }
    }
}
