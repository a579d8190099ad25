/// A journey's funnel, computed from the stage each of its sessions' turns reported
/// (docs/ANALYTICS.md, "Journeys").
public struct JourneyFunnel: Sendable, Equatable {
    /// One turn of a session in the journey that named a stage.
    public struct StageVisit: Sendable, Equatable {
        public var sessionID: String
        public var stage: String
        public var stageNumber: Int64?
        public var timestamp: Int64
        /// `journey.time_in_stage_ms`, when the app measured it.
        public var timeInStageMs: Int64?

        public init(sessionID: String, stage: String, stageNumber: Int64?, timestamp: Int64, timeInStageMs: Int64?) {
            self.sessionID = sessionID
            self.stage = stage
            self.stageNumber = stageNumber
            self.timestamp = timestamp
            self.timeInStageMs = timeInStageMs
        }
    }

    /// One session of the journey.
    public struct SessionOutcome: Sendable, Equatable {
        public var sessionID: String
        public var lastActivity: Int64?
        public var converted: Bool
        public var conversionTurn: Int64?
        public var conversionTimeMs: Int64?

        public init(sessionID: String, lastActivity: Int64?, converted: Bool, conversionTurn: Int64?, conversionTimeMs: Int64?) {
            self.sessionID = sessionID
            self.lastActivity = lastActivity
            self.converted = converted
            self.conversionTurn = conversionTurn
            self.conversionTimeMs = conversionTimeMs
        }
    }

    public struct Stage: Sendable, Equatable {
        public var name: String
        public var number: Int64?
        /// Sessions that reached this stage or a later one (a funnel only narrows).
        public var sessionsReached: Int
        /// Sessions with a turn in this very stage.
        public var sessionsInStage: Int
        /// `sessionsReached` over the previous stage's; nil for the first stage.
        public var conversionFromPrevious: Double?
        /// `sessionsReached` over all sessions of the journey.
        public var conversionFromStart: Double?
        public var medianTimeInStageMs: Int64?
    }

    public var sessions = 0
    public var converted = 0
    public var conversionRate: Double?
    public var stages: [Stage] = []
    public var medianConversionTurn: Int64?
    public var medianConversionTimeMs: Int64?

    public init() {}

    /// `visits` must be grouped by session and in time order within each session.
    public init(sessions outcomes: [SessionOutcome], visits: [StageVisit]) {
        self.init()
        sessions = outcomes.count
        converted = outcomes.count { $0.converted }
        conversionRate = sessions == 0 ? nil : Double(converted) / Double(sessions)
        medianConversionTurn = Percentiles.median(outcomes.compactMap { $0.converted ? $0.conversionTurn : nil })
        medianConversionTimeMs = Percentiles.median(outcomes.compactMap { $0.converted ? $0.conversionTimeMs : nil })

        // Stage order: by stage number when sent (the lowest number a stage was sent with),
        // else by where the stage first appears.
        var order: [String: (number: Int64?, first: Int)] = [:]
        for (index, visit) in visits.enumerated() {
            let known = order[visit.stage]
            let number = [known?.number, visit.stageNumber].compactMap { $0 }.min()
            order[visit.stage] = (number, known?.first ?? index)
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
        let lastActivity = Dictionary(outcomes.map { ($0.sessionID, $0.lastActivity) }, uniquingKeysWith: { a, _ in a })

        var furthest: [String: Int] = [:]
        var inStage = [Set<String>](repeating: [], count: names.count)
        var times = [[Int64]](repeating: [], count: names.count)
        var start = 0
        while start < visits.count {
            let session = visits[start].sessionID
            var end = start
            while end < visits.count, visits[end].sessionID == session { end += 1 }
            let mine = visits[start..<end]
            // Time in each stage: the largest measured value its turns sent, else from the
            // stage's first turn to the first turn of the next stage (or the session's last activity).
            var entered: [(stage: Int, at: Int64, measured: Int64?)] = []
            for visit in mine {
                guard let at = position[visit.stage] else { continue }
                furthest[session] = max(furthest[session] ?? at, at)
                inStage[at].insert(session)
                if let index = entered.firstIndex(where: { $0.stage == at }) {
                    if let measured = visit.timeInStageMs {
                        entered[index].measured = max(entered[index].measured ?? measured, measured)
                    }
                } else {
                    entered.append((at, visit.timestamp, visit.timeInStageMs))
                }
            }
            for (index, stage) in entered.enumerated() {
                if let measured = stage.measured {
                    times[stage.stage].append(measured)
                } else if let next = index + 1 < entered.count ? entered[index + 1].at : lastActivity[session] ?? nil {
                    times[stage.stage].append(max(0, next - stage.at))
                }
            }
            start = end
        }
        var previous: Int?
        stages = names.enumerated().map { index, name in
            let reached = furthest.values.count { $0 >= index }
            defer { previous = reached }
            return Stage(
                name: name, number: order[name]?.number, sessionsReached: reached, sessionsInStage: inStage[index].count,
                conversionFromPrevious: previous.flatMap { $0 == 0 ? nil : Double(reached) / Double($0) },
                conversionFromStart: sessions == 0 ? nil : Double(reached) / Double(sessions),
                medianTimeInStageMs: Percentiles.median(times[index]))
        }
    }
}
