/// How a session ends, reopens and counts as a drop-off (docs/ANALYTICS.md, "Session end").
///
/// A session ends in one of three ways, recorded as `endSource`:
/// * `api`: `POST /api/public/sessions/{id}/end`. Final: later turns do not reopen it.
/// * `attribute`: a turn sent `session.end_reason`; the latest such turn's reason and end.
/// * `inactivity`: the sweeper found no activity for the project's inactivity timeout; status
///   `timed_out`, reason `inactive_timeout`. Activity later than what the sweeper saw reopens
///   the session, and counts a resumption when it came after the timeout had run out.
package struct SessionLifecycle: Sendable, Equatable {
    package var status: String = Status.active
    package var endReason: String?
    package var endTime: Int64?
    package var endSource: String?
    /// `last_activity` when the sweeper timed the session out.
    package var endedActivity: Int64?
    /// How long the session had been idle when the sweeper timed it out.
    package var idleTimeMs: Int64?
    package var resumptions: Int64 = 0

    package init() {}

    package enum Status {
        package static let active = "active"
        package static let ended = "ended"
        package static let timedOut = "timed_out"
    }

    package enum EndSource {
        package static let api = "api"
        package static let attribute = "attribute"
        package static let inactivity = "inactivity"
    }

    /// The reason the sweeper records.
    package static let inactiveTimeout = "inactive_timeout"

    /// End reasons that mean the user left (with `inactive_timeout`, the drop-off candidates).
    package static let userExitReasons: Set<String> = [
        "user_exit", "user_exited", "user_left", "user_quit", "user_closed", "user_abandoned", "abandoned",
        "user_cancelled", "user_canceled", "closed", "exit", "quit", "left", "hangup", "hung_up", "disconnected",
        "client_disconnected", "window_closed", "tab_closed",
    ]

    /// End reasons that mean the session reached its goal: never a drop-off.
    package static let completionReasons: Set<String> = [
        "completed", "complete", "resolved", "success", "succeeded", "successful", "goal_completed",
        "goal_reached", "task_completed", "converted", "conversion", "done", "finished", "purchased",
    ]

    package static func isUserExit(_ reason: String?) -> Bool {
        reason.map { userExitReasons.contains(normalisedLabel($0)) } ?? false
    }

    package static func isCompletion(_ reason: String?) -> Bool {
        reason.map { completionReasons.contains(normalisedLabel($0)) } ?? false
    }

    /// The lifecycle after the session's turns changed: an end a turn declared applies (unless
    /// the API already ended the session), a turn-declared end that is gone (its trace was
    /// deleted) reopens, and activity after a timeout reopens.
    package func resolved(with analysis: SessionAnalysis, lastActivity: Int64?) -> SessionLifecycle {
        var next = self
        if endSource == EndSource.api { return next }
        if let end = analysis.attributeEnd {
            next.status = Status.ended
            next.endReason = end.reason
            next.endTime = end.time
            next.endSource = EndSource.attribute
            next.endedActivity = nil
            next.idleTimeMs = nil
            return next
        }
        if endSource == EndSource.attribute {
            next.reopen()
            return next
        }
        if status == Status.timedOut, let lastActivity, let seen = endedActivity, lastActivity > seen {
            // The session was idle past its timeout (end_time = last activity + timeout) and the
            // user came back: a resumption. Activity that lands before that moment (a late
            // upload) only shows the session was not idle after all.
            if let endTime, lastActivity >= endTime { next.resumptions += 1 }
            next.reopen()
        }
        return next
    }

    private mutating func reopen() {
        status = Status.active
        endReason = nil
        endTime = nil
        endSource = nil
        endedActivity = nil
        idleTimeMs = nil
    }

    /// Whether the session reached a goal: a converted journey or a completion reason, sent by
    /// a turn or given when ending it.
    package func isCompleted(_ analysis: SessionAnalysis) -> Bool {
        analysis.journey.converted || Self.isCompletion(endReason) || Self.isCompletion(analysis.attributeEnd?.reason)
    }

    /// A drop-off: ended by inactivity or by the user leaving, without reaching a goal.
    package func isDropoff(_ analysis: SessionAnalysis) -> Bool {
        let left = status == Status.timedOut || (status == Status.ended && Self.isUserExit(endReason))
        return left && !isCompleted(analysis)
    }
}

/// A label as sent (an end reason, a score name) in the form the fixed lists use: lowercased,
/// with `-` and spaces read as `_`.
func normalisedLabel(_ label: String) -> String {
    String(label.lowercased().map { $0 == "-" || $0 == " " ? "_" : $0 })
}
