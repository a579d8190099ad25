/// `parley db backup FILE`: an online, consistent copy of a database (docs/RELIABILITY.md,
/// "Backup and restore").
package enum DatabaseBackup {
    /// Why a backup was not made.
    package enum Failure: Error, Equatable, CustomStringConvertible {
        /// The target exists: a backup never overwrites a file.
        case targetExists(String)
        /// The copy was written but SQLite's `quick_check` of it did not answer `ok`.
        case copyDamaged(String)

        package var description: String {
            switch self {
            case .targetExists(let path): "\(path) already exists; a backup never overwrites a file"
            case .copyDamaged(let result): "the copy failed its integrity check: \(result)"
            }
        }
    }

    /// Copies the database at `source` into the new file `target` with `VACUUM INTO`
    /// (https://sqlite.org/lang_vacuum.html#vacuuminto): one read transaction, so the copy is
    /// the database as of one commit while the server goes on writing (WAL readers never block
    /// the writer), compacted, and a plain SQLite file that opens on its own. The source is
    /// opened read-only and never changed; the copy is then checked with `PRAGMA quick_check`.
    package static func copy(from source: String, to target: String, fileExists: (String) -> Bool) throws {
        guard !fileExists(target) else { throw Failure.targetExists(target) }
        let connection = try SQLiteConnection(path: source, mode: .readOnly)
        defer { connection.close() }
        try connection.statement("VACUUM INTO ?").run([.text(target)])
        let copy = try SQLiteConnection(path: target, mode: .readOnly)
        defer { copy.close() }
        let result = try copy.scalarText("PRAGMA quick_check") ?? ""
        guard result == "ok" else { throw Failure.copyDamaged(result) }
    }
}
