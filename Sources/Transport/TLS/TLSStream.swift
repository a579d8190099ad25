import COpenSSL

/// TLS as a byte filter over two memory BIOs: ciphertext from the socket goes in with `feed`,
/// plaintext comes out of `read`; plaintext goes in with `write`, ciphertext comes out of
/// `drainCiphertext`. It never touches a socket, so it can be tested without one.
final class TLSStream {
    enum Progress {
        case complete
        /// OpenSSL needs more bytes from the peer (WANT_READ) — not an error.
        case incomplete
    }

    enum ReadResult {
        case bytes(Int)
        case incomplete
        /// The peer sent close_notify.
        case closed
    }

    private let ssl: OpaquePointer
    private let readBIO: OpaquePointer   // ciphertext in (owned by ssl)
    private let writeBIO: OpaquePointer  // ciphertext out (owned by ssl)
    // Keeps the context alive as long as this connection, even across a certificate reload.
    private let context: TLSContext
    private(set) var handshakeComplete = false

    init(context: TLSContext) throws(TLSError) {
        self.context = context
        guard let ssl = SSL_new(context.pointer) else { throw TLSError.drain("SSL_new") }
        guard let rbio = BIO_new(BIO_s_mem()), let wbio = BIO_new(BIO_s_mem()) else {
            SSL_free(ssl)
            throw TLSError.drain("BIO_new")
        }
        // SSL_set_bio transfers ownership of both BIOs to ssl; SSL_free frees them.
        SSL_set_bio(ssl, rbio, wbio)
        SSL_set_accept_state(ssl)
        self.ssl = ssl
        readBIO = rbio
        writeBIO = wbio
    }

    deinit {
        SSL_free(ssl)
    }

    /// Hands ciphertext read from the socket to OpenSSL.
    func feed(_ bytes: UnsafeRawBufferPointer) {
        guard bytes.count > 0 else { return }
        // A memory BIO grows as needed, so the whole slice is always taken.
        _ = BIO_write(readBIO, bytes.baseAddress, Int32(bytes.count))
    }

    /// Advances the handshake as far as the fed bytes allow.
    func handshake() throws(TLSError) -> Progress {
        ERR_clear_error()
        let result = SSL_do_handshake(ssl)
        if result == 1 {
            handshakeComplete = true
            return .complete
        }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .incomplete
        default: throw TLSError.drain("TLS handshake")
        }
    }

    /// Decrypts into `buffer`.
    func read(into buffer: UnsafeMutableRawBufferPointer) throws(TLSError) -> ReadResult {
        ERR_clear_error()
        let result = SSL_read(ssl, buffer.baseAddress, Int32(buffer.count))
        if result > 0 { return .bytes(Int(result)) }
        switch SSL_get_error(ssl, result) {
        case SSL_ERROR_WANT_READ, SSL_ERROR_WANT_WRITE: return .incomplete
        case SSL_ERROR_ZERO_RETURN: return .closed
        default: throw TLSError.drain("TLS read")
        }
    }

    /// Encrypts all of `bytes`; the ciphertext waits in the write BIO for `drainCiphertext`.
    func write(_ bytes: UnsafeRawBufferPointer) throws(TLSError) {
        var offset = 0
        while offset < bytes.count {
            ERR_clear_error()
            let result = SSL_write(ssl, bytes.baseAddress! + offset, Int32(min(bytes.count - offset, Int(Int32.max))))
            guard result > 0 else { throw TLSError.drain("TLS write") }
            offset += Int(result)
        }
    }

    /// Appends pending ciphertext (handshake records, application data, alerts) to `output`.
    func drainCiphertext(into output: inout [UInt8]) {
        let pending = copenssl_bio_pending(writeBIO)
        guard pending > 0 else { return }
        let start = output.count
        output.append(contentsOf: repeatElement(0, count: pending))
        let read = output.withUnsafeMutableBytes { raw in
            BIO_read(writeBIO, raw.baseAddress! + start, Int32(pending))
        }
        output.removeLast(pending - max(0, Int(read)))
    }

    /// Queues a close_notify alert (RFC 8446 §6.1); the caller drains and sends it.
    func shutdown() {
        guard handshakeComplete else { return }
        ERR_clear_error()
        _ = SSL_shutdown(ssl)
    }

    /// The ALPN protocol agreed in the handshake, if any.
    var negotiatedProtocol: String? {
        var data: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &data, &length)
        guard let data, length > 0 else { return nil }
        return String(decoding: UnsafeBufferPointer(start: data, count: Int(length)), as: UTF8.self)
    }
}
