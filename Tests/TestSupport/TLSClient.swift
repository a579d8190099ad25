import COpenSSL
import Glibc

/// A blocking HTTPS client on OpenSSL that trusts only the given CA file, verifies the server's
/// name (RFC 6125; an IP literal is checked against the IP SANs) and offers ALPN `http/1.1`.
///
/// Its socket is non-blocking underneath and every wait goes through `poll(2)` with a deadline,
/// so a stalled server fails the test instead of hanging it. Not thread-safe: one test thread
/// owns a client.
package final class TLSClient {
    /// What the server presented, enough to tell two certificates apart after a reload.
    package struct PeerCertificate: Sendable, Equatable, CustomStringConvertible {
        /// Uppercase hex in whole bytes, as `BN_bn2hex(3)` prints it (0x5EA1001 is "05EA1001").
        package let serialNumber: String
        package let commonName: String

        package var description: String { "CN=\(commonName) serial=\(serialNumber)" }
    }

    package let port: Int
    private let socket: ClientSocket
    private let handles: Handles
    private var pending: [UInt8] = []

    /// The negotiated protocol version as OpenSSL names it, e.g. `TLSv1.3`.
    package let protocolVersion: String
    /// True when TLS 1.3 (RFC 8446) was negotiated.
    package let isTLS13: Bool
    /// The ALPN protocol the server selected (RFC 7301), or nil if it selected none.
    package let negotiatedALPN: String?
    /// The server's leaf certificate, already verified against the CA and the name.
    package let peerCertificate: PeerCertificate

    /// Owns the SSL_CTX and SSL; freeing them in one deinit keeps every early throw in
    /// `init` leak-free.
    private final class Handles {
        let context: OpaquePointer
        var ssl: OpaquePointer?

        init(context: OpaquePointer) { self.context = context }

        deinit {
            if let ssl { SSL_free(ssl) }
            SSL_CTX_free(context)
        }
    }

    /// What the client offers instead of OpenSSL's defaults, to probe a server's policy.
    package struct Offer: Sendable {
        package enum Version: Sendable {
            case tls1, tls1_1, tls1_2, tls1_3

            var openSSL: Int32 {
                switch self {
                case .tls1: copenssl_tls1_version()
                case .tls1_1: copenssl_tls1_1_version()
                case .tls1_2: copenssl_tls1_2_version()
                case .tls1_3: copenssl_tls1_3_version()
                }
            }
        }

        /// Highest protocol version offered; nil for the default.
        package var maxVersion: Version?
        /// Lowest protocol version offered; nil for the default (TLS 1.2 at Debian's level 2).
        package var minVersion: Version?
        /// A TLS 1.2 cipher list (`openssl ciphers` syntax); `@SECLEVEL=0` lets the client offer
        /// what its own defaults would refuse, such as TLS 1.0.
        package var cipherList: String?

        package init(maxVersion: Version? = nil, minVersion: Version? = nil, cipherList: String? = nil) {
            self.maxVersion = maxVersion
            self.minVersion = minVersion
            self.cipherList = cipherList
        }
    }

    /// Connects to `host:port` and completes the handshake.
    ///
    /// - Parameters:
    ///   - serverName: the name to verify and to send as SNI (SNI is skipped for IP literals,
    ///     RFC 6066 §3).
    ///   - caPath: PEM file of the only CA trusted.
    ///   - alpn: protocols offered, in preference order.
    ///   - offer: protocol versions and ciphers offered, when not OpenSSL's defaults.
    package init(
        port: Int, host: String = "127.0.0.1", serverName: String = "localhost", trusting caPath: String,
        alpn: [String] = ["http/1.1"], offer: Offer = Offer(), timeout: Duration = .seconds(10)
    ) throws {
        self.port = port
        handles = Handles(context: try Self.makeContext(trusting: caPath, offer: offer))
        socket = try ClientSocket(host: host, port: port, timeout: timeout)
        guard let ssl = SSL_new(handles.context) else { throw Self.drain("SSL_new") }
        handles.ssl = ssl
        guard SSL_set_fd(ssl, socket.fd) == 1 else { throw Self.drain("SSL_set_fd") }
        try Self.configure(ssl, serverName: serverName, alpn: alpn)
        SSL_set_connect_state(ssl)

        let deadline = ClientSocket.deadline(after: timeout)
        while true {
            ERR_clear_error()
            let result = SSL_do_handshake(ssl)
            if result == 1 { break }
            let error = SSL_get_error(ssl, result)
            switch error {
            case SSL_ERROR_WANT_READ:
                try socket.wait(for: Int16(POLLIN), until: deadline, operation: "finish the TLS handshake")
            case SSL_ERROR_WANT_WRITE:
                try socket.wait(for: Int16(POLLOUT), until: deadline, operation: "finish the TLS handshake")
            default:
                var failure = Self.drain("TLS handshake")
                let verify = SSL_get_verify_result(ssl)
                if verify != X509_V_OK, case .tls(let operation, let reasons) = failure {
                    let text = String(cString: X509_verify_cert_error_string(verify))
                    failure = .tls(operation: operation, reasons: reasons + ["certificate verification: \(text)"])
                }
                throw failure
            }
        }

        protocolVersion = String(cString: SSL_get_version(ssl))
        isTLS13 = SSL_version(ssl) == copenssl_tls1_3_version()
        var selected: UnsafePointer<UInt8>?
        var length: UInt32 = 0
        SSL_get0_alpn_selected(ssl, &selected, &length)
        negotiatedALPN = selected.map { String(decoding: UnsafeBufferPointer(start: $0, count: Int(length)), as: UTF8.self) }
        peerCertificate = try Self.peerCertificate(of: ssl)
    }

    deinit {
        close()
    }

    // MARK: Exchanging bytes

    /// Encrypts and sends exactly `bytes`.
    package func send(_ bytes: [UInt8]) throws {
        guard let ssl = handles.ssl, !bytes.isEmpty else { return }
        let deadline = ClientSocket.deadline(after: socket.timeout)
        try bytes.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                ERR_clear_error()
                let result = SSL_write(ssl, raw.baseAddress! + offset, Int32(raw.count - offset))
                if result > 0 {
                    offset += Int(result)
                    continue
                }
                // SSL_write(3): after WANT_READ/WANT_WRITE, repeat the call with the same arguments.
                switch SSL_get_error(ssl, result) {
                case SSL_ERROR_WANT_READ: try socket.wait(for: Int16(POLLIN), until: deadline, operation: "TLS send")
                case SSL_ERROR_WANT_WRITE: try socket.wait(for: Int16(POLLOUT), until: deadline, operation: "TLS send")
                default: throw Self.drain("SSL_write")
                }
            }
        }
    }

    /// Sends the UTF-8 bytes of `text`.
    package func send(_ text: String) throws {
        try send(Array(text.utf8))
    }

    /// Reads one complete response.
    package func readResponse(method: String = "GET") throws -> RawResponse {
        let deadline = ClientSocket.deadline(after: socket.timeout)
        return try ResponseReader.next(from: &pending, requestMethod: method) {
            try receiveChunk(deadline: deadline)
        }
    }

    /// Sends `text` and reads the response to it.
    package func request(_ text: String) throws -> RawResponse {
        try send(text)
        return try readResponse(method: String(text.prefix { $0 != " " }))
    }

    /// Reads until the server ends the stream (close_notify, FIN or RST); returns the plaintext
    /// not yet consumed as a response.
    package func readUntilClose() throws -> [UInt8] {
        let deadline = ClientSocket.deadline(after: socket.timeout)
        while let chunk = try receiveChunk(deadline: deadline) {
            pending.append(contentsOf: chunk)
        }
        defer { pending = [] }
        return pending
    }

    private func receiveChunk(deadline: UInt64) throws -> [UInt8]? {
        guard let ssl = handles.ssl else { return nil }
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            ERR_clear_error()
            let result = chunk.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
            if result > 0 { return Array(chunk[..<Int(result)]) }
            switch SSL_get_error(ssl, result) {
            case SSL_ERROR_WANT_READ:
                try socket.wait(for: Int16(POLLIN), until: deadline, operation: "read over TLS")
            case SSL_ERROR_WANT_WRITE:
                try socket.wait(for: Int16(POLLOUT), until: deadline, operation: "read over TLS")
            case SSL_ERROR_ZERO_RETURN:
                return nil  // close_notify, or a bare FIN (SSL_OP_IGNORE_UNEXPECTED_EOF is set)
            case SSL_ERROR_SYSCALL where errno == ECONNRESET:
                return nil
            default:
                throw Self.drain("SSL_read")
            }
        }
    }

    /// Sends close_notify (RFC 8446 §6.1) without waiting for the server's, then closes.
    package func close() {
        if let ssl = handles.ssl, socket.fd >= 0 {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
        }
        socket.close()
    }

    // MARK: Building blocks

    /// A client context trusting only `caPath`, verifying the peer.
    private static func makeContext(trusting caPath: String, offer: Offer) throws -> OpaquePointer {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw drain("SSL_CTX_new") }
        guard SSL_CTX_load_verify_locations(context, caPath, nil) == 1 else {
            SSL_CTX_free(context)
            throw drain("loading CA \(caPath)")
        }
        // The cipher list first: its @SECLEVEL decides which versions the client may offer.
        if let cipherList = offer.cipherList, SSL_CTX_set_cipher_list(context, cipherList) != 1 {
            SSL_CTX_free(context)
            throw drain("SSL_CTX_set_cipher_list \(cipherList)")
        }
        if let minVersion = offer.minVersion, copenssl_ctx_set_min_version(context, minVersion.openSSL) != 1 {
            SSL_CTX_free(context)
            throw drain("SSL_CTX_set_min_proto_version")
        }
        if let maxVersion = offer.maxVersion, copenssl_ctx_set_max_version(context, maxVersion.openSSL) != 1 {
            SSL_CTX_free(context)
            throw drain("SSL_CTX_set_max_proto_version")
        }
        // SSL_VERIFY_PEER: the handshake fails unless the chain verifies to the CA.
        SSL_CTX_set_verify(context, SSL_VERIFY_PEER, nil)
        _ = copenssl_ctx_set_options(context, copenssl_op_ignore_unexpected_eof())
        return context
    }

    /// Name verification, SNI and ALPN for one session.
    private static func configure(_ ssl: OpaquePointer, serverName: String, alpn: [String]) throws {
        var address = in_addr()
        if inet_pton(AF_INET, serverName, &address) == 1 {
            // RFC 6125 §6.2: an IP reference identity is compared with iPAddress SANs only.
            guard X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), serverName) == 1 else {
                throw drain("X509_VERIFY_PARAM_set1_ip_asc")
            }
        } else {
            guard SSL_set1_host(ssl, serverName) == 1 else { throw drain("SSL_set1_host") }
            guard copenssl_set_tlsext_host_name(ssl, serverName) == 1 else { throw drain("SNI") }
        }
        if !alpn.isEmpty {
            // RFC 7301 §3.1: a list of length-prefixed protocol names.
            var wire: [UInt8] = []
            for name in alpn {
                wire.append(UInt8(name.utf8.count))
                wire.append(contentsOf: name.utf8)
            }
            // SSL_set_alpn_protos(3) returns 0 on success, unlike most of OpenSSL.
            guard SSL_set_alpn_protos(ssl, wire, UInt32(wire.count)) == 0 else { throw drain("SSL_set_alpn_protos") }
        }
    }

    private static func peerCertificate(of ssl: OpaquePointer) throws -> PeerCertificate {
        guard let certificate = SSL_get1_peer_certificate(ssl) else {
            throw TestClientError.tls(operation: "reading the peer certificate", reasons: ["none presented"])
        }
        defer { X509_free(certificate) }
        guard let bignum = ASN1_INTEGER_to_BN(X509_get_serialNumber(certificate), nil) else {
            throw drain("ASN1_INTEGER_to_BN")
        }
        defer { BN_free(bignum) }
        guard let hex = BN_bn2hex(bignum) else { throw drain("BN_bn2hex") }
        defer { copenssl_free(hex) }
        let serial = String(cString: hex)
        var name = [CChar](repeating: 0, count: 256)
        let length = X509_NAME_get_text_by_NID(X509_get_subject_name(certificate), NID_commonName, &name, Int32(name.count))
        let commonName = length > 0
            ? String(decoding: name.prefix(Int(length)).map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
        return PeerCertificate(serialNumber: serial, commonName: commonName)
    }

    /// The bytes of a real ClientHello (ALPN http/1.1, SNI `serverName`), produced over memory
    /// BIOs with no socket: a test sends it with `RawClient` and then stalls, leaving the server
    /// mid-handshake.
    package static func clientHello(serverName: String = "localhost") throws -> [UInt8] {
        ERR_clear_error()
        guard let context = SSL_CTX_new(TLS_client_method()) else { throw drain("SSL_CTX_new") }
        defer { SSL_CTX_free(context) }
        guard let ssl = SSL_new(context) else { throw drain("SSL_new") }
        defer { SSL_free(ssl) }
        guard let input = BIO_new(BIO_s_mem()) else { throw drain("BIO_new") }
        guard let output = BIO_new(BIO_s_mem()) else {
            BIO_free(input)
            throw drain("BIO_new")
        }
        // SSL_set_bio hands both BIOs to ssl; SSL_free frees them.
        SSL_set_bio(ssl, input, output)
        try configure(ssl, serverName: serverName, alpn: ["http/1.1"])
        SSL_set_connect_state(ssl)
        let result = SSL_do_handshake(ssl)
        guard result != 1, SSL_get_error(ssl, result) == SSL_ERROR_WANT_READ else {
            throw drain("writing a ClientHello")
        }
        let count = copenssl_bio_pending(output)
        var hello = [UInt8](repeating: 0, count: count)
        let read = hello.withUnsafeMutableBytes { BIO_read(output, $0.baseAddress, Int32(count)) }
        guard read == Int32(count), count > 0 else { throw drain("BIO_read") }
        return hello
    }

    /// Drains this thread's OpenSSL error queue into an error.
    private static func drain(_ operation: String) -> TestClientError {
        var reasons: [String] = []
        while case let code = ERR_get_error(), code != 0 {
            var text = [CChar](repeating: 0, count: 256)
            ERR_error_string_n(code, &text, text.count)
            reasons.append(String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self))
        }
        if reasons.isEmpty, errno != 0 { reasons.append(String(cString: strerror(errno))) }
        return .tls(operation: operation, reasons: reasons)
    }
}
