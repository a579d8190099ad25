import Storage

/// A Parley database on a fresh file in its own temp directory (WAL and the reader pool need a
/// real file, not `:memory:`), plus the inspection helpers storage and API tests share.
package final class TestDatabase: Sendable {
    package let directory: TempDirectory
    package let database: Database
    /// The readers in the pool, so `readerBusyStatementCounts` can visit each one.
    private let readers: Int

    /// The configuration tests run with: the server's defaults, except that the writer never
    /// refuses a job for waiting, since tests run in parallel on busy machines where a write can
    /// wait seconds. Tests of admission set their own `maxQueueDelay`.
    package static var testing: Database.Configuration {
        var configuration = Database.Configuration()
        configuration.writer.maxQueueDelay = .seconds(600)
        return configuration
    }

    /// Every table of the schema, in dependency order.
    package static let allTables = [
        "projects", "api_keys", "traces", "observations", "scores", "sessions", "users", "events", "row_counts",
        "rejected_events", "deletion_jobs", "dirty_sessions", "models", "storage_meta",
    ]
    /// The tables ingestion writes.
    package static let ingestionTables = ["traces", "observations", "scores", "sessions", "users", "events"]
    /// Columns that hold a row id, a server clock or a count of settles (`settle_version`),
    /// which differ between two databases fed the same events in another order or at another time.
    package static let arrivalColumns: Set<String> = ["id", "created_at", "updated_at", "received_at", "settle_version"]

    package init(configuration: Database.Configuration = TestDatabase.testing) throws {
        directory = try TempDirectory(prefix: "parley-db")
        database = try Database(path: directory.file("parley.sqlite"), configuration: configuration)
        readers = max(1, configuration.readers)
    }

    /// The database file.
    package var path: String { database.path }

    /// Runs `body` with a fresh database and closes it afterwards, also when `body` throws, so
    /// no writer thread outlives its test.
    ///
    /// Opening (the migrations) and closing (settling, joining six threads) block, so both run
    /// on a thread of their own (`onOwnThread`): on the cooperative pool, hundreds of tests
    /// opening databases at once would hold its threads while the servers of other tests wait
    /// for them.
    package static func with<Result>(
        configuration: Database.Configuration = TestDatabase.testing,
        _ body: (TestDatabase) async throws -> Result
    ) async throws -> Result {
        let test = try await onOwnThread { try TestDatabase(configuration: configuration) }
        let result: Result
        do {
            result = try await body(test)
        } catch {
            _ = try? await onOwnThread { test.database.close() }
            throw error
        }
        _ = try? await onOwnThread { test.database.close() }
        return result
    }

    /// Creates a project with a fixed public id and returns its row id.
    package func createProject(publicID: String = "project-1", name: String = "test") async throws -> Int64 {
        try await database.writer.write { db in
            try ProjectStore.createProject(publicID: publicID, name: name, now: 0, on: db).rowID
        }
    }

    /// Every row of `table` as one line of SQL literals (`quote()`), sorted, leaving out `excluding`
    /// columns. Two databases with the same content give the same lines.
    package func rows(of table: String, excluding: Set<String> = []) throws -> [String] {
        try Self.rows(of: table, excluding: excluding, in: database)
    }

    /// `rows(of:excluding:)` of any database (a backup's copy, say), once every dirty session is
    /// settled: rows as a read through the API sees them.
    package static func rows(of table: String, excluding: Set<String> = [], in database: Database) throws -> [String] {
        try database.settleEverythingBlocking()
        return try database.readBlocking { db in
            var columns: [String] = []
            try db.statement("SELECT name FROM pragma_table_info(?) ORDER BY cid").query([.text(table)]) { row in
                if let name = row.text(0), !excluding.contains(name) { columns.append(name) }
            }
            guard !columns.isEmpty else { return [] }
            let rendered = columns.map { "'\($0)=' || quote(\"\($0)\")" }.joined(separator: " || ' | ' || ")
            var lines: [String] = []
            try db.statement("SELECT \(rendered) FROM \"\(table)\"").query { row in
                lines.append(row.text(0) ?? "")
            }
            return lines.sorted()
        }
    }

    /// `rows(of:excluding:)` for each of `tables`, keyed by table name.
    package func dump(tables: [String] = TestDatabase.allTables, excluding: Set<String> = []) throws -> [String: [String]] {
        var result: [String: [String]] = [:]
        for table in tables { result[table] = try rows(of: table, excluding: excluding) }
        return result
    }

    /// `SELECT count(*) FROM table`.
    package func count(_ table: String, where condition: String = "1") throws -> Int {
        try database.settleEverythingBlocking()
        return try database.readBlocking { db in
            Int(try db.scalarText("SELECT count(*) FROM \"\(table)\" WHERE \(condition)") ?? "0") ?? 0
        }
    }

    /// Statements left stepped but not reset on the writer connection.
    package func writerBusyStatementCount() async throws -> Int {
        try await database.writer.write { db in db.busyStatementCount }
    }

    /// Statements left stepped but not reset on each reader of the pool. Nested `readBlocking` calls
    /// hold one connection each, so every reader is visited exactly once.
    package func readerBusyStatementCounts() throws -> [Int] {
        func visit(_ remaining: Int, _ counts: [Int]) throws -> [Int] {
            guard remaining > 0 else { return counts }
            return try database.readBlocking { db in try visit(remaining - 1, counts + [db.busyStatementCount]) }
        }
        return try visit(readers, [])
    }
}
