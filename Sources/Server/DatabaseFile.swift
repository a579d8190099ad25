import Foundation
import Storage

/// Opening the database file from the command line, with errors that name the path and the
/// cause (SQLite alone says "unable to open database file"). `serve` creates a missing file;
/// every other command refuses one, so a mistyped `--db` never leaves a new empty database behind.
enum DatabaseFile {
    /// A database that could not be opened: the path and why, in words.
    struct OpenError: Error, CustomStringConvertible {
        let path: String
        let cause: String
        var description: String { "cannot open the database \(path): \(cause)" }
    }

    /// For `serve`: opens `path`, creating it when missing.
    static func openOrCreate(_ path: String, durability: Database.Durability) throws -> Database {
        do {
            return try Database(path: path, durability: durability)
        } catch {
            throw OpenError(path: path, cause: cause(of: error, path: path))
        }
    }

    /// For every other command: opens `path`, which must exist.
    static func openExisting(_ path: String) throws -> Database {
        try requireExisting(path)
        do {
            return try Database(path: path)
        } catch {
            throw OpenError(path: path, cause: cause(of: error, path: path))
        }
    }

    /// Throws unless `path` is an existing file.
    static func requireExisting(_ path: String) throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
            throw OpenError(path: path, cause: "no such file (start `parley serve --db \(path)` once to create it, or check --db / PARLEY_DB)")
        }
        if isDirectory.boolValue { throw OpenError(path: path, cause: "it is a directory, not a database file") }
    }

    /// Why opening `path` failed, checked on the file system first.
    static func cause(of error: any Error, path: String) -> String {
        let url = URL(fileURLWithPath: path)
        let directory = url.deletingLastPathComponent().path
        var isDirectory: ObjCBool = false
        let manager = FileManager.default
        if !manager.fileExists(atPath: directory, isDirectory: &isDirectory) {
            return "the directory \(directory) does not exist"
        }
        if !isDirectory.boolValue { return "\(directory) is not a directory" }
        if manager.fileExists(atPath: path, isDirectory: &isDirectory) {
            if isDirectory.boolValue { return "it is a directory, not a database file" }
            if !manager.isReadableFile(atPath: path) || !manager.isWritableFile(atPath: path) {
                return "permission denied (the file must be readable and writable by this user)"
            }
        } else if !manager.isWritableFile(atPath: directory) {
            return "permission denied: cannot create a file in \(directory)"
        }
        if let error = error as? SQLiteError, error.code & 0xFF == 26 {
            return "it is not a SQLite database (\(error))"
        }
        if !manager.fileExists(atPath: path) { return "the file cannot be created there (\(error))" }
        return "\(error)"
    }
}
