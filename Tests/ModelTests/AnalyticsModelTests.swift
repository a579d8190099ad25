import Model
import Testing

/// The pure analytics functions behind the session columns (docs/ANALYTICS.md): edge cases the
/// API scenarios do not reach.
@Suite("Analytics model")
struct AnalyticsModelTests {
    // MARK: Context windows

    @Test(arguments: [
        ("gpt-4o", 128_000), ("gpt-4o-2024-08-06", 128_000), ("openai/gpt-4o-mini", 128_000), ("gpt-4", 8_192),
        ("gpt-4-0613", 8_192), ("gpt-4.1-mini-2025-04-14", 1_047_576), ("GPT-4-Turbo", 128_000),
        ("anthropic.claude-3-5-sonnet-20240620-v1:0", 200_000), ("claude-sonnet-4-20250514", 200_000),
        ("meta-llama/llama-3.1-70b-instruct", 128_000), ("llama-3-8b", 8_192), ("gemini-1.5-pro-002", 2_097_152),
    ] as [(String, Int64)])
    func builtInWindowsMatchTheLongestPrefixAtASeparator(model: String, window: Int64) {
        #expect(ContextWindows().window(for: model) == window)
    }

    @Test func unknownModelsAndPrefixesInsideAWordHaveNoWindow() {
        let windows = ContextWindows()
        #expect(windows.window(for: "my-finetune") == nil)
        #expect(windows.window(for: nil) == nil)
        #expect(windows.window(for: "") == nil)
        // "o1" must not match "o1x", nor "gpt-4" "gpt-40".
        #expect(windows.window(for: "o1x") == nil)
        #expect(windows.window(for: "gpt-40") == nil)
    }

    @Test func projectOverridesComeFirstAndAddModels() {
        let windows = ContextWindows(overrides: ["gpt-4o": 64_000, "My-Finetune": 32_768, "bad": 0])
        #expect(windows.window(for: "gpt-4o-2024-08-06") == 64_000)
        #expect(windows.window(for: "my-finetune-v2") == 32_768)
        #expect(windows.window(for: "gpt-4") == 8_192)
        #expect(windows.window(for: "bad") == nil)
    }

    // MARK: Turn numbering

    static func turns(_ numbers: [Int64?], conversations: [String?]? = nil) -> [TurnFacts] {
        numbers.enumerated().map { index, number in
            var turn = TurnFacts(traceID: "t\(index)", timestamp: Int64(index) * 1000)
            turn.tracking.turnNumber = number
            turn.tracking.conversationID = conversations?[index]
            return turn
        }
    }

    @Test func aMissingNumberFollowsTheTurnBeforeIt() {
        let analysis = SessionAnalysis.analyse(Self.turns([1, 2, nil, 4]))
        #expect(analysis.turns.map(\.number) == [1, 2, 3, 4])
        #expect(analysis.turns.map(\.source) == [.sent, .sent, .derived, .sent])
        #expect(analysis.numberSource == "mixed")
        #expect(analysis.issues.missing == 1 && analysis.issues.gaps.isEmpty && analysis.issues.duplicates.isEmpty)
    }

    @Test func aDerivedNumberCanCollideAndIsThenReported() {
        let analysis = SessionAnalysis.analyse(Self.turns([1, nil, 2]))
        #expect(analysis.turns.map(\.number) == [1, 2, 2])
        #expect(analysis.issues.duplicates == [2])
        #expect(analysis.turns[1].flags == ["missing_number", "duplicate_number"])
    }

    @Test func outOfOrderSentNumbersAreCountedAndZeroBasedNumberingHasNoGap() {
        let analysis = SessionAnalysis.analyse(Self.turns([0, 2, 1]))
        #expect(analysis.issues.outOfOrder == 1)
        #expect(analysis.turns[2].flags == ["out_of_order"])
        #expect(analysis.issues.gaps.isEmpty)
        #expect(SessionAnalysis.analyse(Self.turns([3, 4])).issues.gaps == [1, 2])
    }

    @Test func numbersArePerConversation() {
        let analysis = SessionAnalysis.analyse(Self.turns([nil, nil, nil, 1], conversations: ["a", "b", "a", "b"]))
        #expect(analysis.turns.map(\.number) == [1, 1, 2, 1])
        #expect(analysis.conversationCount == 2)
        // b has 1 (derived) and 1 (sent): a duplicate within b, not across conversations.
        #expect(analysis.issues.duplicates == [1])
        #expect(analysis.turns.map { $0.flags.contains("duplicate_number") } == [false, true, false, true])
    }

    @Test func anAbsurdSentNumberListsTheFirstGapsAndCountsThemAll() {
        let analysis = SessionAnalysis.analyse(Self.turns([1, 9_000_000_000]))
        #expect(analysis.issues.gaps == Array(2...101))
        #expect(analysis.issues.gapCount == 8_999_999_998)
        #expect(analysis.lastTurnNumber == 9_000_000_000)
    }

    // MARK: Journeys and context

    @Test func theFurthestStageWinsEvenWhenALaterTurnGoesBack() {
        var turns = Self.turns([nil, nil, nil])
        for (index, (stage, number)) in [("cart", 2), ("pay", 3), ("cart", 2)].enumerated() {
            turns[index].tracking.journeyName = "checkout"
            turns[index].tracking.journeyStage = stage
            turns[index].tracking.journeyStageNumber = Int64(number)
        }
        let journey = SessionAnalysis.analyse(turns).journey
        #expect(journey.stage == "pay" && journey.stageNumber == 3 && !journey.converted)
    }

    @Test func contextPercentIsSentOrTokensOverTheWindow() {
        var turns = Self.turns([nil, nil, nil])
        turns[0].tracking.contextWindowPercent = 12.5
        turns[1].peakInputTokens = 100_000
        turns[1].peakModel = "gpt-4o"
        turns[2].peakInputTokens = 5_000
        turns[2].peakModel = "unknown-model"
        let analysis = SessionAnalysis.analyse(turns)
        #expect(analysis.turns[0].contextPercent == 12.5 && analysis.turns[0].contextSource == "sent")
        #expect(analysis.turns[1].contextPercent == 78.1 && analysis.turns[1].contextSource == "derived")
        // Tokens without a known window: no percent, but the tokens are still shown.
        #expect(analysis.turns[2].contextPercent == nil && analysis.turns[2].contextTokens == 5_000)
        #expect(analysis.contextMaxPercent == 78.1 && analysis.contextFirstTurnOver80 == nil)
    }

    @Test func aFunnelWithoutStageNumbersOrdersStagesByFirstAppearance() {
        let outcomes = [
            JourneyFunnel.SessionOutcome(
                sessionID: "a", lastActivity: 200, converted: true, conversionTurn: 2, conversionTimeMs: 100,
                path: [StageEntry(stage: "ask", stageNumber: nil, enteredAt: 0, measuredMs: nil),
                       StageEntry(stage: "answer", stageNumber: nil, enteredAt: 100, measuredMs: 70)]),
            JourneyFunnel.SessionOutcome(
                sessionID: "b", lastActivity: 50, converted: false, conversionTurn: nil, conversionTimeMs: nil,
                path: [StageEntry(stage: "ask", stageNumber: nil, enteredAt: 0, measuredMs: nil)]),
        ]
        let funnel = JourneyFunnel(sessions: outcomes)
        #expect(funnel.stages.map(\.name) == ["ask", "answer"])
        #expect(funnel.stages.map(\.sessionsReached) == [2, 1])
        // ask: a 100 ms (to answer), b 50 ms (to its last activity): median 50; answer: measured 70.
        #expect(funnel.stages.map(\.medianTimeInStageMs) == [50, 70])
        #expect(funnel.conversionRate == 0.5 && funnel.medianConversionTurn == 2)
    }

    @Test func aStagePathKeepsEachStageOnceWithItsLowestNumberAndLargestMeasure() {
        var turns = Self.turns([nil, nil, nil, nil])
        for (index, (stage, number, measured)) in [("a", 2, 10), ("b", 3, nil), ("a", 1, 30), ("c", nil, nil)].enumerated() {
            turns[index].tracking.journeyStage = stage
            turns[index].tracking.journeyStageNumber = number.map(Int64.init)
            turns[index].tracking.journeyTimeInStageMs = measured.map(Int64.init)
        }
        let path = StageEntry.path(of: turns)
        #expect(path == [
            StageEntry(stage: "a", stageNumber: 1, enteredAt: 0, measuredMs: 30),
            StageEntry(stage: "b", stageNumber: 3, enteredAt: 1000, measuredMs: nil),
            StageEntry(stage: "c", stageNumber: nil, enteredAt: 3000, measuredMs: nil),
        ])
        #expect(StageEntry.parse(StageEntry.json(path)) == path)
        #expect(StageEntry.json([]) == nil && StageEntry.parse(nil).isEmpty && StageEntry.parse("{}").isEmpty)
    }

    // MARK: Lifecycle

    @Test func endReasonsCompareLoosely() {
        #expect(SessionLifecycle.isUserExit("User-Exit"))
        #expect(SessionLifecycle.isUserExit("user left"))
        #expect(SessionLifecycle.isCompletion("Completed"))
        #expect(!SessionLifecycle.isUserExit("escalated") && !SessionLifecycle.isCompletion("escalated"))
        #expect(!SessionLifecycle.isUserExit(nil))
    }

    @Test func anAPIEndIsFinalAndATimeoutReopensOnNewActivity() {
        var ended = SessionLifecycle()
        ended.status = SessionLifecycle.Status.ended
        ended.endSource = SessionLifecycle.EndSource.api
        var analysis = SessionAnalysis()
        analysis.attributeEnd = AttributeEnd(reason: "completed", time: 5)
        #expect(ended.resolved(with: analysis, lastActivity: 10) == ended)

        var timedOut = SessionLifecycle()
        timedOut.status = SessionLifecycle.Status.timedOut
        timedOut.endSource = SessionLifecycle.EndSource.inactivity
        timedOut.endedActivity = 100
        timedOut.endTime = 1_900
        #expect(timedOut.resolved(with: SessionAnalysis(), lastActivity: 100) == timedOut)
        let early = timedOut.resolved(with: SessionAnalysis(), lastActivity: 500)
        #expect(early.status == SessionLifecycle.Status.active && early.resumptions == 0)
        let back = timedOut.resolved(with: SessionAnalysis(), lastActivity: 1_900)
        #expect(back.status == SessionLifecycle.Status.active && back.resumptions == 1 && back.endTime == nil)
    }

    @Test func percentilesAreNearestRank() {
        #expect(Percentiles.nearestRank([1, 2, 3, 4], 50) == 2)
        #expect(Percentiles.nearestRank([1, 2, 3, 4], 99) == 4)
        #expect(Percentiles.nearestRank([7], 0) == 7)
        #expect(Percentiles.nearestRank([Int](), 50) == nil)
        #expect(Percentiles.median([5, 1, 3]) == 3)
    }
}
