import Model
import Testing

/// Valid but extreme numbers and dates through the pure functions (issue #17): each is either
/// refused with a documented bound (`ValueBounds`) or used without trapping and with work
/// proportional to the input, never to the value.
@Suite("Extreme values in the model")
struct ExtremeValueTests {
    static func turns(_ numbers: [Int64?]) -> [TurnFacts] {
        AnalyticsModelTests.turns(numbers)
    }

    // MARK: Turn gaps

    @Test func aHighTurnNumberListsTheFirstGapsAndCountsTheRest() {
        // Today's main walked every number from 1 to the highest: 5 million gaps listed here,
        // and a 100,000,000 stalled the writer for good (issue #17).
        let issues = SessionAnalysis.analyse(Self.turns([5_000_000])).issues
        #expect(issues.gaps == Array(1...100))
        #expect(issues.gapCount == 4_999_999)
        #expect(issues.json["gapCount"]?.intValue == 4_999_999)
    }

    @Test func gapsAreCountedOnceAcrossConversationsAndListedInOrder() {
        var turns = Self.turns([1, 4, 2, 7])
        for index in [2, 3] { turns[index].tracking.conversationID = "b" }
        // a: 1, 4 → 2, 3 missing; b: 2, 7 → 1, 3, 4, 5, 6 missing; union 1…6.
        let issues = SessionAnalysis.analyse(turns).issues
        #expect(issues.gaps == [1, 2, 3, 4, 5, 6])
        #expect(issues.gapCount == 6)
    }

    @Test func smallGapsAreListedWhole() {
        let issues = SessionAnalysis.analyse(Self.turns([1, 2, 5, 9])).issues
        #expect(issues.gaps == [3, 4, 6, 7, 8])
        #expect(issues.gapCount == 5)
    }

    /// Stored rows may hold any Int64 (written before the bounds): the numbering saturates and
    /// the gap count saturates instead of trapping.
    @Test(arguments: [
        [Int64.max], [Int64.min], [Int64.min, Int64.max], [Int64.max, nil, nil], [Int64.max - 1, Int64.max],
        [-5, 0, Int64.max], [nil, Int64.min, nil],
    ] as [[Int64?]])
    func anyStoredTurnNumberIsNumberedWithoutTrapping(numbers: [Int64?]) {
        let analysis = SessionAnalysis.analyse(Self.turns(numbers))
        #expect(analysis.turns.count == numbers.count)
        #expect(analysis.issues.gaps.count <= ValueBounds.listedTurnGaps)
        #expect(analysis.issues.gapCount >= Int64(analysis.issues.gaps.count))
    }

    @Test func theWholeInt64RangeMissingSaturatesTheCount() {
        let issues = SessionAnalysis.analyse(Self.turns([Int64.min, Int64.max])).issues
        #expect(issues.gapCount == .max)
        #expect(issues.gaps.first == Int64.min + 1 && issues.gaps.count == ValueBounds.listedTurnGaps)
    }

    @Test func aMissingNumberAfterTheLargestSaturates() {
        let analysis = SessionAnalysis.analyse(Self.turns([Int64.max, nil]))
        #expect(analysis.turns.map(\.number) == [.max, .max])
        #expect(analysis.issues.duplicates == [.max])
    }

    // MARK: Session-tracking attributes

    @Test(arguments: [
        "9223372036854775807", "-9223372036854775808", "1e308", "-1", "1000000001", "\"99999999999999999999\"",
    ])
    func aTurnNumberPastItsBoundIsIgnored(number: String) throws {
        let tracking = SessionTracking(metadata: try JSONParser.parse(#"{"turn.number": \#(number), "turn_number": 4}"#))
        // The next key in line is read instead, as for a value of the wrong kind.
        #expect(tracking.turnNumber == 4)
    }

    @Test func everyTrackingNumberHasItsBound() throws {
        let tracking = SessionTracking(metadata: try JSONParser.parse("""
            {"conversation.total_turns": 1e12, "turn.latency_ms": 9223372036854775807, "turn.tool_calls": -3,
             "context.tokens": 1000000000001, "context.limit": -1, "context.window_pct": 1e308,
             "context.messages_pruned": 9e18, "journey.stage_number": -9223372036854775808,
             "journey.total_stages": 2000000000, "journey.conversion_turn": 1e10, "journey.time_in_stage_ms": 1e300}
            """))
        #expect(tracking == SessionTracking())
    }

    @Test func numbersAtTheirBoundsAreKept() throws {
        let tracking = SessionTracking(metadata: try JSONParser.parse("""
            {"turn.number": 1000000000, "context.tokens": 1000000000000, "context.window_pct": 1000,
             "turn.latency_ms": 3155760000000, "journey.stage_number": 0}
            """))
        #expect(tracking.turnNumber == 1_000_000_000 && tracking.contextTokens == 1_000_000_000_000)
        #expect(tracking.contextWindowPercent == 1000 && tracking.turnLatencyMs == 3_155_760_000_000)
        #expect(tracking.journeyStageNumber == 0)
    }

    // MARK: Journeys

    @Test func journeyTimesOfExtremeTurnsDoNotTrap() {
        var first = TurnFacts(traceID: "a", timestamp: Int64.min)
        first.tracking.journeyStage = "start"
        var last = TurnFacts(traceID: "b", timestamp: Int64.max)
        last.tracking.journeyStage = "end"
        last.tracking.journeyConverted = true
        let analysis = SessionAnalysis.analyse([first, last])
        #expect(analysis.journey.conversionTimeMs == .max)
        let funnel = JourneyFunnel(sessions: [JourneyFunnel.SessionOutcome(
            sessionID: "s", lastActivity: Int64.max, converted: true, conversionTurn: 2, conversionTimeMs: .max,
            path: analysis.journeyPath)])
        #expect(funnel.stages.map(\.medianTimeInStageMs) == [.max, 0])
    }

    @Test func aNewStageNameOnEveryTurnIsOneEntryEach() {
        let turns = (0..<2_000).map { index -> TurnFacts in
            var turn = TurnFacts(traceID: "t\(index)", timestamp: Int64(index))
            turn.tracking.journeyStage = "stage-\(index % 1_000)"
            return turn
        }
        let path = StageEntry.path(of: turns)
        #expect(path.count == 1_000)
        #expect(path.last?.stage == "stage-999" && path.last?.enteredAt == 999)
    }

    // MARK: Project settings

    @Test func storedSettingsPastTheirBoundsCountAsTheBound() throws {
        let settings = ProjectSettings(json: """
            {"retentionDays": 9223372036854775807, "inactivityTimeoutSeconds": 9223372036854775807,
             "contextWindows": {"m": 9223372036854775807, "": 5, "n": 100}}
            """)
        #expect(settings.retentionDays == ValueBounds.retentionDays.upperBound)
        #expect(settings.inactivityTimeoutSeconds == ValueBounds.inactivityTimeoutSeconds.upperBound)
        #expect(settings.contextWindows == ["m": ValueBounds.contextWindowTokens.upperBound, "n": 100])
        // The arithmetic the sweepers do on them: 36,500 days before now, one year in ms.
        #expect(settings.retentionCutoff(now: 0, defaultDays: nil) == -36_500 * 86_400_000)
        #expect(settings.inactivityTimeoutMs(default: 0) == 31_536_000_000)
    }

    @Test func retentionArithmeticSaturatesForAnyDays() {
        var settings = ProjectSettings()
        #expect(settings.retentionCutoff(now: 0, defaultDays: nil) == nil)
        #expect(settings.retentionCutoff(now: Int64.min, defaultDays: .max) == .min)
        settings.retentionDays = .max
        settings.inactivityTimeoutSeconds = .max
        #expect(settings.retentionCutoff(now: 1_000, defaultDays: nil) == 1_000 - .max)
        #expect(settings.inactivityTimeoutMs(default: 0) == .max)
    }

    @Test func storedContextWindowsPastTheCountAreLeftOut() {
        let members = (0..<(ValueBounds.contextWindowEntries + 50)).map { ("model-\($0)", JSONValue(1000)) }
        let settings = ProjectSettings(.object([("contextWindows", .object(members))]))
        #expect(settings.contextWindows.count == ValueBounds.contextWindowEntries)
    }

    @Test(arguments: [
        ("retentionDays", "9223372036854775807", false), ("retentionDays", "36500", true), ("retentionDays", "36501", false),
        ("retentionDays", "0", false), ("inactivityTimeoutSeconds", "31536000", true),
        ("inactivityTimeoutSeconds", "31536001", false), ("inactivityTimeoutSeconds", "1e300", false),
        ("contextWindows", #"{"m": 1000000000}"#, true), ("contextWindows", #"{"m": 1000000001}"#, false),
        ("contextWindows", #"{"m": 9223372036854775807}"#, false), ("contextWindows", #"{"": 5}"#, false),
    ])
    func settingsChangesAreCheckedAgainstTheirBounds(key: String, value: String, accepted: Bool) throws {
        let result = ProjectSettings.validatedChange(key, try JSONParser.parse(value))
        if accepted {
            #expect(throws: Never.self) { try result.get() }
        } else {
            #expect(throws: ProjectSettings.SettingError.self) { try result.get() }
        }
    }

    @Test func tooManyContextWindowsAreRefused() throws {
        let members = (0...ValueBounds.contextWindowEntries).map { ("model-\($0)", JSONValue(1000)) }
        #expect(throws: ProjectSettings.SettingError.self) {
            try ProjectSettings.validatedChange("contextWindows", .object(members)).get()
        }
        let longName = String(repeating: "m", count: ValueBounds.modelNameBytes + 1)
        #expect(throws: ProjectSettings.SettingError.self) {
            try ProjectSettings.validatedChange("contextWindows", .object([(longName, JSONValue(1000))])).get()
        }
    }

    // MARK: Timestamps

    @Test func theEndsOfTheCalendarParse() {
        #expect(Timestamp.parseMicros("0000-01-01T00:00:00Z") == Timestamp.minMicros)
        #expect(Timestamp.parseMicros("9999-12-31T23:59:59.999999Z") == Timestamp.maxMicros)
        #expect(Timestamp.parseMicros("0000-01-01T23:59:00+23:59") == Timestamp.minMicros)
    }

    @Test(arguments: [
        "0000-01-01T00:00:00+00:01", "0000-01-01T00:00:00+23:59", "9999-12-31T23:59:59-00:01",
        "9999-12-31T23:59:59.999999999-23:59",
    ])
    func anInstantOutsideYears0000To9999IsRefused(text: String) {
        #expect(Timestamp.parseMicros(text) == nil)
    }

    @Test func anyInstantIsWrittenWithAFourDigitYear() {
        #expect(Timestamp.iso8601(millis: .min) == "0000-01-01T00:00:00.000Z")
        #expect(Timestamp.iso8601(millis: .max) == "9999-12-31T23:59:59.999Z")
        #expect(Timestamp.iso8601(millis: Timestamp.minMicros / 1000 - 1) == "0000-01-01T00:00:00.000Z")
    }

    // MARK: Usage and cost

    @Test func costsPastTheirBoundAreNotFolded() throws {
        let events = [StoredEvent(type: .generationCreate, timestampMicros: 0, body: try JSONParser.parse("""
            {"id": "g", "costDetails": {"input": 1e300, "output": 2.5, "cached": 1000000001},
             "usage": {"inputCost": 1.7976931348623157e308, "input": 10}}
            """))]
        let record = Merge.observation(id: "g", events: events)
        #expect(record.totalCost == 2.5)
        #expect(record.costDetails == #"{"output":2.5,"total":2.5}"#)
    }

    // MARK: Saturating arithmetic

    @Test func saturatingOperationsStopAtTheEnds() {
        #expect(Int64.max.addingSaturating(1) == .max && Int64.min.addingSaturating(-1) == .min)
        #expect(Int64.min.subtractingSaturating(1) == .min && Int64.max.subtractingSaturating(-1) == .max)
        #expect(Int64.max.multipliedSaturating(by: 2) == .max && Int64.min.multipliedSaturating(by: 2) == .min)
        #expect(Int64.min.multipliedSaturating(by: -1) == .max && (-3 as Int64).multipliedSaturating(by: 4) == -12)
        #expect((5 as Int64).addingSaturating(-7) == -2 && (5 as Int64).subtractingSaturating(7) == -2)
    }
}
