import Foundation
import Transport

/// A throwaway PKI made at test time with the `openssl` tool: a CA, and server certificates it
/// signs for `localhost`, `127.0.0.1` and `::1`. Nothing is checked in, so nothing expires in
/// the repository; every file lives in a `TempDirectory` removed with this object.
package final class TestCertificates: Sendable {
    /// One server certificate and its key.
    package struct Identity: Sendable {
        package let certificatePath: String
        package let privateKeyPath: String
        /// Uppercase hex in whole bytes, as `TLSClient.PeerCertificate.serialNumber` reports it.
        package let serialNumber: String
        package let commonName: String

        /// A server configuration that serves this certificate.
        package var tlsConfiguration: TLSConfiguration {
            TLSConfiguration(certificatePath: certificatePath, privateKeyPath: privateKeyPath)
        }
    }

    package let directory: TempDirectory
    /// PEM file of the CA certificate; the only trust anchor `TLSClient` should be given.
    package let caCertificatePath: String
    /// The first server identity, serial `0x05EA1001`.
    package let server: Identity

    private static let config = """
        [req]
        distinguished_name = dn
        prompt = no
        [dn]
        CN = unused
        [ca_ext]
        basicConstraints = critical,CA:TRUE
        keyUsage = critical,keyCertSign,cRLSign
        subjectKeyIdentifier = hash
        [server_ext]
        basicConstraints = critical,CA:FALSE
        keyUsage = critical,digitalSignature
        extendedKeyUsage = serverAuth
        subjectAltName = DNS:localhost,IP:127.0.0.1,IP:::1
        subjectKeyIdentifier = hash
        authorityKeyIdentifier = keyid
        """

    /// Generates the CA and the first server identity. Takes a few tens of milliseconds: EC
    /// P-256 keys are cheap to make.
    package init() throws {
        directory = try TempDirectory(prefix: "parley-certs")
        try directory.write(Array(Self.config.utf8), to: "openssl.cnf")
        // Own config file: the system openssl.cnf would add its own default extensions.
        try ExternalTool.run("openssl", [
            "req", "-x509", "-config", "openssl.cnf", "-extensions", "ca_ext",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "ca.key", "-out", "ca.pem", "-days", "2", "-subj", "/CN=Parley Test CA",
        ], in: directory.path)
        caCertificatePath = directory.file("ca.pem")
        server = try Self.issue(commonName: "parley-test-server-1", serial: 0x5EA1001, in: directory)
    }

    /// Issues another server certificate from the same CA (for reload tests), with its own key,
    /// serial and common name.
    package func issueServerCertificate(commonName: String, serial: UInt64) throws -> Identity {
        try Self.issue(commonName: commonName, serial: serial, in: directory)
    }

    /// Issues a server certificate from the same CA that is valid only from `start` to `end`
    /// (`YYYYMMDDHHMMSSZ`): one in the past to test an expired certificate, one in the future
    /// for a certificate not valid yet. `openssl x509 -req` cannot backdate, so this goes
    /// through `openssl ca`, which takes both dates.
    package func issueServerCertificate(commonName: String, serial: UInt64, validFrom start: String, until end: String) throws -> Identity {
        try Self.issue(commonName: commonName, serial: serial, in: directory, validity: (start, end))
    }

    /// The certificate of `certificate` with the private key of `key`: a pair that must not load.
    package func mismatchedPair(certificate: Identity, key: Identity) -> Identity {
        Identity(certificatePath: certificate.certificatePath, privateKeyPath: key.privateKeyPath,
                 serialNumber: certificate.serialNumber, commonName: certificate.commonName)
    }

    private static let caConfig = """
        [ca]
        default_ca = test_ca
        [test_ca]
        dir = .
        database = index.txt
        new_certs_dir = .
        serial = serial
        default_md = sha256
        policy = any
        unique_subject = no
        [any]
        commonName = supplied
        """

    private static func issue(
        commonName: String, serial: UInt64, in directory: TempDirectory, validity: (String, String)? = nil
    ) throws -> Identity {
        let base = "server-\(String(serial, radix: 16))"
        try ExternalTool.run("openssl", [
            "req", "-new", "-config", "openssl.cnf",
            "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", "\(base).key", "-out", "\(base).csr", "-subj", "/CN=\(commonName)",
        ], in: directory.path)
        if let (start, end) = validity {
            try directory.write(Array(caConfig.utf8), to: "ca.cnf")
            if !FileManager.default.fileExists(atPath: directory.file("index.txt")) {
                try directory.write([], to: "index.txt")
            }
            // `openssl ca` reads the serial from this file, in whole bytes of hex.
            var hex = String(serial, radix: 16)
            if hex.count % 2 == 1 { hex = "0" + hex }
            try directory.write(Array("\(hex)\n".utf8), to: "serial")
            try ExternalTool.run("openssl", [
                "ca", "-batch", "-config", "ca.cnf", "-cert", "ca.pem", "-keyfile", "ca.key", "-notext",
                "-in", "\(base).csr", "-out", "\(base).pem", "-startdate", start, "-enddate", end,
                "-extfile", "openssl.cnf", "-extensions", "server_ext",
            ], in: directory.path)
        } else {
            try ExternalTool.run("openssl", [
                "x509", "-req", "-in", "\(base).csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                "-set_serial", "0x\(String(serial, radix: 16))", "-days", "2",
                "-extfile", "openssl.cnf", "-extensions", "server_ext", "-out", "\(base).pem",
            ], in: directory.path)
        }
        // BN_bn2hex(3) prints whole bytes: an odd number of hex digits gets a leading zero.
        var hex = String(serial, radix: 16).uppercased()
        if hex.count % 2 == 1 { hex = "0" + hex }
        return Identity(
            certificatePath: directory.file("\(base).pem"), privateKeyPath: directory.file("\(base).key"),
            serialNumber: hex, commonName: commonName)
    }

    /// Copies `identity` over the fixed paths `active.pem` / `active.key` and returns a
    /// configuration pointing at them: install a second identity the same way, then call
    /// `HTTPServer.reloadTLS()`, and the server picks it up from the same paths.
    @discardableResult
    package func install(_ identity: Identity) throws -> TLSConfiguration {
        let certificate = try Data(contentsOf: URL(fileURLWithPath: identity.certificatePath))
        let key = try Data(contentsOf: URL(fileURLWithPath: identity.privateKeyPath))
        // Atomic writes (rename into place), as a deployment tool would, so a reload never sees
        // a half-written file.
        try certificate.write(to: URL(fileURLWithPath: directory.file("active.pem")), options: .atomic)
        try key.write(to: URL(fileURLWithPath: directory.file("active.key")), options: .atomic)
        return TLSConfiguration(certificatePath: directory.file("active.pem"), privateKeyPath: directory.file("active.key"))
    }
}
