import COpenSSL
import Glibc

/// Certificate and key paths for an HTTPS listener.
package struct TLSConfiguration: Sendable, Equatable {
    /// PEM file with the server certificate, optionally followed by its chain.
    package var certificatePath: String
    /// PEM file with the private key.
    package var privateKeyPath: String

    package init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

extension TLSConfiguration {
    /// Loads the pair the way a listener does and throws what would stop one: a file that cannot
    /// be read or parsed, a key that does not belong to the certificate, a certificate outside
    /// its validity period. `parley serve` calls it before it opens anything else.
    package func validate() throws(TLSError) {
        _ = try TLSContext(configuration: self)
    }
}

/// Owns one `SSL_CTX`: TLS 1.2 minimum (1.3 is negotiated when the client offers it), forward
/// secret AEAD suites only under TLS 1.2, ALPN `http/1.1`, and a certificate that is valid now.
/// Immutable after creation; a reload builds a new one and swaps it in, and connections already
/// open keep a reference to the context they started with.
final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is fully configured in init and never mutated afterwards, and
    // OpenSSL documents SSL_new on a shared SSL_CTX as thread-safe.
    let pointer: OpaquePointer

    /// TLS 1.2 cipher suites: ECDHE key exchange (forward secrecy) with an AEAD cipher, the
    /// TLS 1.2 part of Mozilla's "intermediate" configuration without DHE. This leaves out RSA
    /// key exchange, every CBC suite (SHA-1 or SHA-2 MAC: Lucky13-style padding oracles), and
    /// of course RC4, 3DES, NULL, EXPORT and anonymous suites. TLS 1.3 keeps OpenSSL's default
    /// suites, which are all AEAD.
    static let tls12CipherList = [
        "ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
        "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
        "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305",
    ].joined(separator: ":")

    init(configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.drain("SSL_CTX_new") }
        pointer = ctx
        // SSL_CTX_set_min_proto_version(3): refuse SSLv3, TLS 1.0 and 1.1.
        guard copenssl_ctx_set_min_version(ctx, copenssl_tls1_2_version()) == 1 else {
            throw TLSError.drain("SSL_CTX_set_min_proto_version")
        }
        guard SSL_CTX_set_cipher_list(ctx, Self.tls12CipherList) == 1 else {
            throw TLSError.drain("SSL_CTX_set_cipher_list")
        }
        _ = copenssl_ctx_set_options(ctx, copenssl_op_server_preference())
        // Release idle record buffers: matters when thousands of keep-alive connections sit idle.
        _ = copenssl_ctx_set_mode(ctx, copenssl_mode_release_buffers())
        let certificatePath = configuration.certificatePath
        guard SSL_CTX_use_certificate_chain_file(ctx, certificatePath) == 1 else {
            throw TLSError.drain("loading certificate chain \(certificatePath)")
        }
        try Self.checkValidity(ctx, path: certificatePath)
        guard SSL_CTX_use_PrivateKey_file(ctx, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            let operation = "loading private key \(configuration.privateKeyPath)"
            if copenssl_err_is_key_mismatch(ERR_peek_last_error()) == 1 {
                ERR_clear_error()
                throw TLSError(operation: operation, reasons: ["it is not the key of the certificate in \(certificatePath)"])
            }
            throw TLSError.drain(operation)
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError.drain("private key does not match the certificate")
        }
        copenssl_ctx_enable_alpn_http11(ctx)
    }

    deinit {
        SSL_CTX_free(pointer)
    }

    /// Refuses a leaf certificate outside its validity period: every client would refuse it,
    /// so a server that started with it would only fail later, one handshake at a time.
    private static func checkValidity(_ ctx: OpaquePointer, path: String) throws(TLSError) {
        let operation = "loading certificate chain \(path)"
        guard let certificate = SSL_CTX_get0_certificate(ctx) else {
            throw TLSError(operation: operation, reasons: ["no certificate in the file"])
        }
        // X509_cmp_current_time: -1 when the time is before now, 1 when after, 0 on error.
        if let notAfter = X509_get0_notAfter(certificate), X509_cmp_current_time(notAfter) < 0 {
            throw TLSError(operation: operation, reasons: ["the certificate expired on \(text(notAfter))"])
        }
        if let notBefore = X509_get0_notBefore(certificate), X509_cmp_current_time(notBefore) > 0 {
            throw TLSError(operation: operation, reasons: ["the certificate is not valid before \(text(notBefore))"])
        }
    }

    /// `2020-02-01 00:00:00 UTC`, or `an unreadable date`.
    private static func text(_ time: UnsafePointer<ASN1_TIME>) -> String {
        var parts = tm()
        guard ASN1_TIME_to_tm(time, &parts) == 1 else { return "an unreadable date" }
        func padded(_ value: Int32, _ width: Int) -> String {
            let digits = String(value)
            return String(repeating: "0", count: max(0, width - digits.count)) + digits
        }
        return "\(padded(parts.tm_year + 1900, 4))-\(padded(parts.tm_mon + 1, 2))-\(padded(parts.tm_mday, 2)) "
            + "\(padded(parts.tm_hour, 2)):\(padded(parts.tm_min, 2)):\(padded(parts.tm_sec, 2)) UTC"
    }
}
