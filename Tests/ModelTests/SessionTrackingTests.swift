import Model
import Testing

/// Lifting session-tracking attributes out of trace metadata (docs/DATA_MODEL.md).
@Suite("Session tracking attributes")
struct SessionTrackingTests {
    static func tracking(_ json: String) throws -> SessionTracking {
        SessionTracking(metadata: try JSONParser.parse(json))
    }

    @Test func flatOTelNamesAreRead() throws {
        let t = try Self.tracking("""
            {"session.type": "support", "session.channel": "web", "session.client_version": "2.1.0",
             "session.locale": "de-DE", "session.end_reason": "user_exit",
             "conversation.id": "c-1", "conversation.topic": "billing", "conversation.total_turns": 6,
             "turn.number": 3, "turn.id": "t-3", "turn.role": "user", "turn.input_type": "question",
             "turn.output_type": "answer", "turn.latency_ms": 840, "turn.tool_calls": 2,
             "conversation.context_tokens": 9000, "context.limit": 128000, "conversation.context_window_pct": 7.03,
             "context.pruned": true, "context.messages_pruned": 4, "user.tier": "pro", "user.org_id": "org-9",
             "journey.name": "onboarding", "journey.stage": "verify", "journey.stage_number": 2,
             "journey.total_stages": 4, "journey.converted": false, "journey.conversion_turn": 5,
             "journey.time_in_stage_ms": 12000, "dropoff.last_intent": "clarify", "dropoff.agent_last_action": "ask"}
            """)
        #expect(t.sessionType == "support" && t.sessionChannel == "web" && t.sessionClientVersion == "2.1.0")
        #expect(t.sessionLocale == "de-DE" && t.sessionEndReason == "user_exit")
        #expect(t.conversationID == "c-1" && t.conversationTopic == "billing" && t.conversationTotalTurns == 6)
        #expect(t.turnNumber == 3 && t.turnID == "t-3" && t.turnRole == "user")
        #expect(t.turnInputType == "question" && t.turnOutputType == "answer")
        #expect(t.turnLatencyMs == 840 && t.turnToolCalls == 2)
        #expect(t.contextTokens == 9000 && t.contextLimit == 128_000 && t.contextWindowPercent == 7.03)
        #expect(t.contextPruned == true && t.contextMessagesPruned == 4)
        #expect(t.userTier == "pro" && t.userOrgID == "org-9")
        #expect(t.journeyName == "onboarding" && t.journeyStage == "verify" && t.journeyStageNumber == 2)
        #expect(t.journeyTotalStages == 4 && t.journeyConverted == false && t.journeyConversionTurn == 5)
        #expect(t.journeyTimeInStageMs == 12000)
        #expect(t.dropoffLastIntent == "clarify" && t.dropoffAgentLastAction == "ask")
    }

    @Test func nestedObjectsAreReadAndFlatKeysWin() throws {
        let t = try Self.tracking("""
            {"turn": {"number": 4, "role": "assistant"}, "turn.role": "user",
             "journey": {"name": "checkout", "converted": "true"}}
            """)
        #expect(t.turnNumber == 4)
        #expect(t.turnRole == "user")
        #expect(t.journeyName == "checkout" && t.journeyConverted == true)
    }

    @Test func aNestedPathThatStopsPartwayOrEndsInNullIsNotSent() throws {
        let t = try Self.tracking("""
            {"turn": 5, "journey": {"stage": null, "name": {"x": 1}}, "user": {"tier": "pro", "org_id": {"id": "o"}},
             "context": {"tokens": 9}, "conversation": {"context": {"tokens": 3}}}
            """)
        // "turn" is a number, so turn.role finds no object to look into; the bare key is the legacy turn number.
        #expect(t.turnNumber == 5 && t.turnRole == nil)
        #expect(t.journeyStage == nil && t.journeyName == nil)
        #expect(t.userTier == "pro" && t.userOrgID == nil)
        // conversation.context_tokens is a key of "conversation", not a path through "context".
        #expect(t.contextTokens == 9)
    }

    @Test func numbersSentAsTextAndListsOfToolCallsAreAccepted() throws {
        let t = try Self.tracking("""
            {"conversation.turn_number": "7", "context.tokens": " 1200 ", "turn.tool_calls": ["search", "lookup"],
             "context.window_pct": "55.5", "context.pruned": "no"}
            """)
        #expect(t.turnNumber == 7)
        #expect(t.contextTokens == 1200)
        #expect(t.turnToolCalls == 2)
        #expect(t.contextWindowPercent == 55.5)
        #expect(t.contextPruned == false)
    }

    @Test func turnNumberPrefersTurnNumberThenConversationTurnNumberThenLegacyKeys() throws {
        #expect(try Self.tracking(#"{"turn.number": 2, "conversation.turn_number": 9}"#).turnNumber == 2)
        #expect(try Self.tracking(#"{"conversation.turn_number": 9, "turn_number": 1}"#).turnNumber == 9)
        #expect(try Self.tracking(#"{"turn_number": 1, "turn": 5}"#).turnNumber == 1)
        #expect(try Self.tracking(#"{"turn": 5}"#).turnNumber == 5)
    }

    @Test func valuesOfTheWrongKindAreIgnoredNotErrors() throws {
        let t = try Self.tracking("""
            {"turn.number": "three", "turn.latency_ms": 1.5, "journey.converted": "maybe", "user.tier": {"x": 1},
             "conversation.id": "", "context.window_pct": "NaN", "session.channel": null}
            """)
        #expect(t == SessionTracking())
        #expect(SessionTracking(metadata: nil) == SessionTracking())
        #expect(try Self.tracking(#"["turn.number", 3]"#) == SessionTracking())
    }
}
