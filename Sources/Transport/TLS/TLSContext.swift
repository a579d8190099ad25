import COpenSSL

/// Certificate and key paths for an HTTPS listener.
public struct TLSConfiguration: Sendable, Equatable {
    /// PEM file with the server certificate, optionally followed by its chain.
    public var certificatePath: String
    /// PEM file with the private key.
    public var privateKeyPath: String

    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath
        self.privateKeyPath = privateKeyPath
    }
}

/// Owns one `SSL_CTX`: TLS 1.2 minimum (1.3 is negotiated when the client offers it), ALPN
/// `http/1.1`. Immutable after creation; a reload builds a new one and swaps it in, and
/// connections already open keep a reference to the context they started with.
final class TLSContext: @unchecked Sendable {
    // @unchecked: the SSL_CTX is fully configured in init and never mutated afterwards, and
    // OpenSSL documents SSL_new on a shared SSL_CTX as thread-safe.
    let pointer: OpaquePointer

    init(configuration: TLSConfiguration) throws(TLSError) {
        ERR_clear_error()
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.drain("SSL_CTX_new") }
        pointer = ctx
        // SSL_CTX_set_min_proto_version(3): refuse SSLv3, TLS 1.0 and 1.1.
        guard copenssl_ctx_set_min_version(ctx, copenssl_tls1_2_version()) == 1 else {
            throw TLSError.drain("SSL_CTX_set_min_proto_version")
        }
        _ = copenssl_ctx_set_options(ctx, copenssl_op_server_preference())
        // Release idle record buffers: matters when thousands of keep-alive connections sit idle.
        _ = copenssl_ctx_set_mode(ctx, copenssl_mode_release_buffers())
        guard SSL_CTX_use_certificate_chain_file(ctx, configuration.certificatePath) == 1 else {
            throw TLSError.drain("loading certificate chain \(configuration.certificatePath)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, configuration.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.drain("loading private key \(configuration.privateKeyPath)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError.drain("private key does not match the certificate")
        }
        copenssl_ctx_enable_alpn_http11(ctx)
    }

    deinit {
        SSL_CTX_free(pointer)
    }
}
