import API
import Crypto
import Foundation
import Storage
import Testing
import TestSupport
import Transport

/// Secret keys at rest and their comparison (issue #9, security). The comparison must run in
/// time that does not depend on where two digests differ; that is a property of the code
/// (`Digest.constantTimeEqual` is `CRYPTO_memcmp`), read rather than timed: these tests check
/// only what it answers.
@Suite("Secret keys")
struct SecretKeyTests {
    @Test func constantTimeEqualAnswersByWholeContentAndLength() {
        let digest = Digest.sha256(Array("sk-lf-secret".utf8))
        #expect(Digest.constantTimeEqual(digest, digest))
        #expect(Digest.constantTimeEqual([], []))
        for index in [0, 15, 31] {
            var other = digest
            other[index] ^= 0x01
            #expect(!Digest.constantTimeEqual(digest, other), "differs at byte \(index)")
            other[index] ^= 0x81
            #expect(!Digest.constantTimeEqual(other, digest), "differs at byte \(index)")
        }
        #expect(!Digest.constantTimeEqual(digest, Array(digest.prefix(31))))
        #expect(!Digest.constantTimeEqual(Array(digest.prefix(31)), digest))
        #expect(!Digest.constantTimeEqual(digest, digest + [0]))
        #expect(!Digest.constantTimeEqual([], digest))
    }

    @Test func secretsDifferingAnywhereOrInLengthDoNotAuthenticate() async throws {
        try await APIHarness.with { api async throws in
            let secret = APIHarness.secretKey
            var lastFlipped = Array(secret.utf8)
            lastFlipped[lastFlipped.count - 1] ^= 0x01
            var firstFlipped = Array(secret.utf8)
            firstFlipped[0] ^= 0x01
            let near = [
                String(secret.dropLast()), secret + "x", secret + "\0", String(decoding: lastFlipped, as: UTF8.self),
                String(decoding: firstFlipped, as: UTF8.self), secret.uppercased(), " " + secret, "sk-lf-",
            ]
            for candidate in near {
                let response = await api.get(
                    "/api/public/projects", authorization: AuthenticationTests.basic("\(APIHarness.publicKey):\(candidate)"))
                #expect(response.status == 401, "\(candidate.debugDescription)")
            }
            let own = await api.get("/api/public/projects", authorization: AuthenticationTests.basic("\(APIHarness.publicKey):\(secret)"))
            #expect(own.status == 200)
        }
    }

    @Test func keysAreStoredAsSaltedHashesOnly() async throws {
        try await APIHarness.with { api async throws in
            try await api.addKey(publicKey: "pk-lf-second", secretKey: APIHarness.secretKey)
            let keys = try api.database.readBlocking { db in
                [try ProjectStore.key(publicKey: APIHarness.publicKey, on: db), try ProjectStore.key(publicKey: "pk-lf-second", on: db)]
            }.compactMap { $0 }
            try #require(keys.count == 2)
            let secret = Array(APIHarness.secretKey.utf8)
            for key in keys {
                #expect(key.salt.count >= 16)
                #expect(key.secretHash == Digest.sha256(key.salt + secret))
                #expect(key.secretHash != Digest.sha256(secret))
            }
            // The same secret under two keys is stored as two different hashes.
            #expect(keys[0].salt != keys[1].salt)
            #expect(keys[0].secretHash != keys[1].secretHash)
            // Nowhere in the file, nor in its write-ahead log, is the secret in clear.
            for suffix in ["", "-wal"] {
                let path = api.test.path + suffix
                guard let bytes = FileManager.default.contents(atPath: path) else { continue }
                #expect(bytes.range(of: Data(secret)) == nil, "\(path)")
            }
        }
    }

    /// The comparison's timing is a property of the code, so the code is read: `Authenticator`
    /// compares the secret's digest with `Digest.constantTimeEqual` and nowhere with `==` or
    /// `!=`, and `constantTimeEqual` is `CRYPTO_memcmp`, which "takes an amount of time dependent
    /// on len, but independent of the contents of the memory regions" (OpenSSL `CRYPTO_memcmp(3)`).
    @Test func secretDigestsAreComparedInConstantTimeInTheSource() throws {
        let sources = URL(fileURLWithPath: #filePath)
            .deletingLastPathComponent()  // APITests
            .deletingLastPathComponent()  // Tests
            .deletingLastPathComponent()  // the package
            .appendingPathComponent("Sources")
        let authenticator = try String(contentsOf: sources.appendingPathComponent("API/Auth/Authenticator.swift"), encoding: .utf8)
        let digest = try String(contentsOf: sources.appendingPathComponent("Crypto/Digest.swift"), encoding: .utf8)
        #expect(authenticator.contains("Digest.constantTimeEqual(hash, key.secretHash)"))
        #expect(try authenticator.firstMatch(of: Regex(#"secretHash\s*[!=]=|[!=]=\s*key\.secretHash"#)) == nil)
        let function = try #require(digest.range(of: "func constantTimeEqual"))
        let rest = digest[function.upperBound...]
        let body = rest[..<(rest.range(of: "\n    }\n")?.lowerBound ?? rest.endIndex)]
        #expect(body.contains("CRYPTO_memcmp("))
        #expect(body.contains("lhs.count == rhs.count"), "unequal lengths answer false before any byte is compared")
    }
}
