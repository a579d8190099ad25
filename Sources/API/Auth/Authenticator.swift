import Crypto
import Foundation
import Ingest
import Model
import Storage
import Synchronization
import Transport

/// Who a request acts for, after authentication.
package struct AuthContext: Sendable, Equatable {
    package enum AccessLevel: Sendable, Equatable {
        /// Basic `publicKey:secretKey`: everything in the project.
        case project
        /// Bearer public key alone: score writes only (langfuse-api.md §2.2).
        case scores
        /// A console sign-in's cookie: GET and HEAD on the read API only.
        case read
    }

    package let project: ProjectStore.Project
    package let publicKey: String
    package let accessLevel: AccessLevel
    /// The project's privacy policy, applied to every write and user-id filter.
    package let privacy: PrivacyPolicy
}

/// Verifies Langfuse-style credentials against stored key hashes.
///
/// Key rows are cached for `cacheLifetime` so a busy ingestion path costs one SHA-256 and no
/// query per request; revocations from `parley keys revoke` (another process) take effect
/// within that lifetime.
package final class Authenticator: Sendable {
    private struct CachedKey {
        let key: ProjectStore.Key?
        let loadedAt: UInt64
    }

    /// The database keys are read from (and whose sessions reads settle, `authenticate(_:_:)`).
    let database: Database
    private let cache = Mutex<[String: CachedKey]>([:])
    private let cacheLifetimeNanos: UInt64
    /// The server-wide settings a project falls back on.
    package let defaults: ProjectDefaults
    /// The web console's sign-ins, each tied to the key pair it was made with.
    package let consoleSessions: ConsoleSessions

    package init(
        database: Database, defaults: ProjectDefaults = ProjectDefaults(), cacheLifetime: Duration = .seconds(10),
        consoleSessions: ConsoleSessions = ConsoleSessions()
    ) {
        self.database = database
        self.defaults = defaults
        self.consoleSessions = consoleSessions
        cacheLifetimeNanos = cacheLifetime.unsignedNanoseconds
    }

    /// A console sign-in's token (the cookie): read access to the key's project while the sign-in
    /// lasts and the key is not revoked. A key revoked by another process (`parley keys revoke`)
    /// is seen within `cacheLifetime`, like every other use of the key.
    package func authenticate(consoleToken token: String) async throws -> AuthContext {
        let expired = AuthError.unauthorized("Console sign-in expired or ended; sign in again")
        guard let publicKey = consoleSessions.publicKey(token: token) else { throw expired }
        guard let key = try await lookup(publicKey), key.revokedAt == nil else {
            consoleSessions.remove(token: token)
            throw expired
        }
        return context(key, accessLevel: .read)
    }

    /// Checks a key pair sent to the console's sign-in (not a header): the context it gives.
    package func authenticate(publicKey: String, secretKey: String) async throws -> AuthContext {
        guard !publicKey.isEmpty, !secretKey.isEmpty, secretKey.utf8.count <= 200 else {
            throw AuthError.unauthorized("Invalid credentials. Confirm that you've configured the correct host.")
        }
        return try await verify(publicKey: publicKey, secret: secretKey)
    }

    /// Authenticates `header` (the `Authorization` value).
    /// - Parameter allowPublicKeyOnly: whether `Bearer pk-…` is acceptable on this route.
    package func authenticate(_ header: String?, allowPublicKeyOnly: Bool) async throws -> AuthContext {
        guard let header, !header.isEmpty else { throw AuthError.unauthorized("No authorization header") }
        if header.hasPrefix("Basic ") {
            return try await basic(String(header.dropFirst(6)).trimmingOWS)
        }
        if header.hasPrefix("Bearer ") {
            let publicKey = String(header.dropFirst(7)).trimmingOWS
            guard let key = try await lookup(publicKey), key.revokedAt == nil else {
                throw AuthError.unauthorized("Invalid public key. Confirm that you've configured the correct host.")
            }
            guard allowPublicKeyOnly else {
                throw AuthError.forbidden("Access denied - insufficient permissions for this endpoint")
            }
            return context(key, accessLevel: .scores)
        }
        throw AuthError.unauthorized("Invalid authorization header")
    }

    private func basic(_ encoded: String) async throws -> AuthContext {
        let malformed = AuthError.unauthorized(
            "Invalid authorization header. Confirm that you've configured the correct host.")
        guard let data = Data(base64Encoded: encoded), let text = String(data: data, encoding: .utf8),
              let colon = text.firstIndex(of: ":") else { throw malformed }
        let publicKey = String(text[..<colon])
        let secret = String(text[text.index(after: colon)...])
        guard !publicKey.isEmpty, !secret.isEmpty else { throw malformed }
        return try await verify(publicKey: publicKey, secret: secret)
    }

    private func verify(publicKey: String, secret: String) async throws -> AuthContext {
        let wrong = AuthError.unauthorized("Invalid credentials. Confirm that you've configured the correct host.")
        guard let key = try await lookup(publicKey), key.revokedAt == nil else { throw wrong }
        let hash = Digest.sha256(key.salt + Array(secret.utf8))
        guard Digest.constantTimeEqual(hash, key.secretHash) else { throw wrong }
        return context(key, accessLevel: .project)
    }

    private func context(_ key: ProjectStore.Key, accessLevel: AuthContext.AccessLevel) -> AuthContext {
        AuthContext(
            project: key.project, publicKey: key.publicKey, accessLevel: accessLevel,
            privacy: PrivacyPolicy(settings: key.settings, salt: key.userSalt, defaults: defaults))
    }

    private func lookup(_ publicKey: String) async throws -> ProjectStore.Key? {
        guard publicKey.utf8.count <= 200 else { return nil }
        let now = MonotonicClock.nanos()
        if let cached = cache.withLock({ $0[publicKey] }), now &- cached.loadedAt < cacheLifetimeNanos {
            return cached.key
        }
        let key: ProjectStore.Key?
        do {
            key = try await database.read { try ProjectStore.key(publicKey: publicKey, on: $0) }
        } catch {
            throw AuthError.unavailable
        }
        cache.withLock { cache in
            // Bound the cache: unknown keys are cached too (to blunt guessing), so cap its size.
            if cache.count > 10_000 { cache.removeAll() }
            cache[publicKey] = CachedKey(key: key, loadedAt: now)
        }
        return key
    }

    /// Forgets cached keys (after this process creates or revokes one, or changes a project's
    /// settings: the cached key carries them).
    package func invalidate() {
        cache.withLock { $0.removeAll() }
    }
}

/// Authentication failures, rendered with Langfuse's messages (langfuse-api.md §2.3).
package enum AuthError: Error, Sendable {
    case unauthorized(String)
    case forbidden(String)
    case unavailable

    var apiError: APIError {
        switch self {
        case .unauthorized(let message): APIError(status: 401, code: "UnauthorizedError", message: message)
        case .forbidden(let message): APIError(status: 403, code: "ForbiddenError", message: message)
        case .unavailable: APIError.unavailable("Service Unavailable")
        }
    }
}

extension String {
    var trimmingOWS: String { trimmingCharacters(in: CharacterSet(charactersIn: " \t")) }
}
