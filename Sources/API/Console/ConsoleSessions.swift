import Crypto
import Model
import Synchronization
import Transport

/// The web console's sign-ins. Signing in with a key pair makes an opaque random token, sent
/// back as an HttpOnly cookie; the server keeps only the token's SHA-256, with the public key it
/// was made with and when it expires. The secret is never kept: each use of the token looks the
/// key up again (`Authenticator`), so a revoked key ends every sign-in made with it.
package final class ConsoleSessions: Sendable {
    package struct Configuration: Sendable {
        /// Sign-ins kept at once; past it the one closest to expiry is dropped.
        package var maxSessions = 1024
        /// How long a sign-in lasts (the cookie's Max-Age too, in whole seconds).
        package var lifetime: Duration = .seconds(8 * 3600)

        package init() {}
    }

    /// The name of the cookie holding the token.
    package static let cookieName = "parley_console"
    /// Random bytes in a token; its text form is twice as many hex digits.
    static let tokenBytes = 32

    struct Entry: Sendable {
        let publicKey: String
        let expiresAt: UInt64
    }

    package let configuration: Configuration
    private let entries = Mutex<[String: Entry]>([:])
    private let clock: @Sendable () -> UInt64

    package init(configuration: Configuration = Configuration(),
                clock: @escaping @Sendable () -> UInt64 = { MonotonicClock.nanos() }) {
        self.configuration = configuration
        self.clock = clock
    }

    /// A new token for `publicKey`.
    func create(publicKey: String) -> String {
        let token = Digest.hex(Digest.randomBytes(Self.tokenBytes))
        let now = clock()
        let entry = Entry(publicKey: publicKey, expiresAt: now &+ configuration.lifetime.unsignedNanoseconds)
        entries.withLock { entries in
            if entries.count >= configuration.maxSessions {
                entries = entries.filter { $0.value.expiresAt > now }
                if entries.count >= configuration.maxSessions,
                   let first = entries.min(by: { $0.value.expiresAt < $1.value.expiresAt }) {
                    entries.removeValue(forKey: first.key)
                }
            }
            entries[Self.digest(token)] = entry
        }
        return token
    }

    /// The public key `token` was made for, while it has not expired or been signed out.
    func publicKey(token: String) -> String? {
        guard Self.isWellFormed(token) else { return nil }
        let key = Self.digest(token)
        let now = clock()
        return entries.withLock { entries in
            guard let entry = entries[key] else { return nil }
            guard entry.expiresAt > now else {
                entries.removeValue(forKey: key)
                return nil
            }
            return entry.publicKey
        }
    }

    /// Signs `token` out.
    func remove(token: String) {
        guard Self.isWellFormed(token) else { return }
        _ = entries.withLock { $0.removeValue(forKey: Self.digest(token)) }
    }

    /// Sign-ins kept now (expired ones included until they are next looked at).
    package var count: Int { entries.withLock { $0.count } }

    /// 64 lowercase hex digits: anything else is no token of ours, and costs no hashing.
    static func isWellFormed(_ token: String) -> Bool {
        token.utf8.count == tokenBytes * 2
            && token.utf8.allSatisfy { ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || ($0 >= UInt8(ascii: "a") && $0 <= UInt8(ascii: "f")) }
    }

    private static func digest(_ token: String) -> String { Digest.hex(Digest.sha256(Array(token.utf8))) }

    /// The console token in a request's `Cookie` headers (RFC 6265 §5.4), if any. The headers
    /// are already bounded by the parser's header limit; only our cookie's value is kept.
    static func token(in headers: HTTPHeaders) -> String? {
        for value in headers.values("Cookie") {
            for pair in value.split(separator: ";") {
                let trimmed = pair.drop { $0 == " " }
                guard let equals = trimmed.firstIndex(of: "=") else { continue }
                if trimmed[..<equals] == cookieName[...] {
                    return String(trimmed[trimmed.index(after: equals)...])
                }
            }
        }
        return nil
    }
}
