/// A response body produced piece by piece, for bodies too large to hold in memory (an NDJSON or
/// CSV export of millions of rows).
///
/// The connection calls `next` from a task on its own executor (`StreamExecutor`, not the
/// cooperative pool, so a producer may block on storage), never twice at once, and again only after
/// the previous piece was handed to the socket far enough (at most
/// `ServerConfiguration.streamHighWaterBytes` unsent): a client that reads slowly slows the
/// producer down instead of growing a buffer. Each call costs a task and a hop back to the event
/// loop, so pieces of some kilobytes (many rows each) stream far faster than one row per piece.
package struct HTTPBodyStream: Sendable {
    /// The next piece of the body; nil ends the body; a throw aborts it. An empty piece is
    /// skipped. Once the client is gone `next` is not called again, and the pending call, if any,
    /// is cancelled.
    package let next: @Sendable () async throws -> [UInt8]?

    /// A stream that asks `next` for each piece.
    package init(next: @escaping @Sendable () async throws -> [UInt8]?) {
        self.next = next
    }
}
