/// Data computed from stored rows by today's code, kept apart from the schema's migrations: a
/// migration is SQL that runs once, while a derivation calls into the stores (`TrackingColumns`,
/// `SessionAggregates`), which write the columns of the newest schema. Run inside a migration, such
/// code breaks as soon as a later migration adds a column it writes; run here, after every
/// migration, it always finds them.
///
/// `storage_meta.derived_version` records the newest derivation a file has. Each derivation runs
/// once, in its own transaction with that record, in order.
enum Derivations {
    struct Derivation: Sendable {
        let version: Int
        /// Files made at or past this schema version never need it: their rows were written by
        /// code that already derived it (before schema v13 the derivations ran inside the
        /// migration of this version).
        let neededBelowSchema: Int
        let run: @Sendable (SQLiteConnection) throws -> Void
    }

    static let all: [Derivation] = [
        // Session-tracking columns lifted out of trace metadata (the columns came with schema v4).
        Derivation(version: 1, neededBelowSchema: 4, run: TrackingColumns.backfill(on:)),
        // Every session recomputed: fills the aggregates added by schemas v6, v7, v10 and v11.
        Derivation(version: 2, neededBelowSchema: 11, run: AggregateStore.refreshEverySession(on:)),
    ]

    static var latestVersion: Int { all.last?.version ?? 0 }

    /// The SQL that sets the file's record.
    private static let record = """
        INSERT INTO storage_meta (key, value) VALUES ('derived_version', ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value
        """

    /// Records what a file migrated from `schemaVersionBefore` already has, once the record's
    /// table exists and holds no record: a new file has every derivation, having no rows to
    /// derive from; a file made before schema v13 has those whose `neededBelowSchema` it had
    /// reached. Called by `Migrations` after each migration, in its transaction.
    static func recordIfMissing(schemaVersionBefore: Int, on connection: SQLiteConnection) throws {
        guard try connection.scalarText("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'storage_meta'") != nil,
              try connection.scalarText("SELECT 1 FROM storage_meta WHERE key = 'derived_version'") == nil
        else { return }
        let done = schemaVersionBefore == 0
            ? latestVersion
            : all.filter { $0.neededBelowSchema <= schemaVersionBefore }.map(\.version).max() ?? 0
        try connection.statement(record).run([.integer(Int64(done))])
    }

    /// Runs the derivations newer than the file's record, each in its own transaction with the
    /// record's update. Call after every migration.
    static func apply(to connection: SQLiteConnection) throws {
        let done = Int(try connection.scalarText("SELECT value FROM storage_meta WHERE key = 'derived_version'") ?? "") ?? 0
        for derivation in all where derivation.version > done {
            try connection.execute("BEGIN IMMEDIATE")
            do {
                try derivation.run(connection)
                try connection.statement(record).run([.integer(Int64(derivation.version))])
                try connection.execute("COMMIT")
            } catch {
                try? connection.execute("ROLLBACK")
                throw error
            }
        }
    }
}
