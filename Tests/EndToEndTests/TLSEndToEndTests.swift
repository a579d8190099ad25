import Testing
import TestSupport
import Transport

/// HTTPS with a CA generated at test time by the `openssl` tool.
@Suite("TLS")
struct TLSEndToEndTests {
    static func configuration(_ tls: TLSConfiguration) -> ServerConfiguration {
        var configuration = ServerConfiguration.testing
        configuration.tls = tls
        return configuration
    }

    @Test func handshakeNegotiatesTLS13AndALPNHTTP11() throws {
        let certificates = try TestCertificates()
        let configuration = Self.configuration(certificates.server.tlsConfiguration)
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            let client = try server.connectTLS(trusting: certificates)
            #expect(client.isTLS13)
            #expect(client.protocolVersion == "TLSv1.3")
            #expect(client.negotiatedALPN == "http/1.1")
            #expect(client.peerCertificate.serialNumber == certificates.server.serialNumber)
            #expect(client.peerCertificate.commonName == certificates.server.commonName)
            for target in ["/secure/1", "/secure/2"] {
                let response = try client.request(request(target: target))
                #expect(response.status == 200)
                #expect(response.text == target)
            }
            #expect(try client.request(request(target: "/bye", headers: ["Connection: close"])).announcesClose)
            #expect(try client.readUntilClose() == [])
        }
    }

    @Test func largeBodiesAndPipeliningWorkOverTLS() throws {
        let certificates = try TestCertificates()
        var configuration = Self.configuration(certificates.server.tlsConfiguration)
        configuration.limits.maxBodyBytes = 4 * 1024 * 1024
        let responder = ClosureResponder.sync { request in
            HTTPResponse(status: 200, body: request.body.isEmpty ? Array(request.target.utf8) : request.body)
        }
        let payload = (0..<(2 * 1024 * 1024)).map { UInt8(truncatingIfNeeded: $0 &* 31) }
        try withTestServer(configuration: configuration, responder: responder) { server in
            let client = try server.connectTLS(trusting: certificates)
            try client.send(Array(request("POST", "/echo", headers: ["Content-Length: \(payload.count)"]).utf8) + payload)
            let echoed = try client.readResponse()
            #expect(echoed.body.count == payload.count)
            #expect(echoed.body == payload)

            try client.send((0..<20).map { request(target: "/tls-pipelined/\($0)") }.joined())
            for index in 0..<20 {
                #expect(try client.readResponse().text == "/tls-pipelined/\(index)")
            }
        }
    }

    @Test func expect100ContinueWorksOverTLS() throws {
        let certificates = try TestCertificates()
        let configuration = Self.configuration(certificates.server.tlsConfiguration)
        let responder = ClosureResponder.sync { request in HTTPResponse(status: 200, body: request.body) }
        try withTestServer(configuration: configuration, responder: responder) { server in
            let client = try server.connectTLS(trusting: certificates)
            try client.send(request("PUT", "/thing", headers: ["Content-Length: 4", "Expect: 100-continue"]))
            #expect(try client.readResponse().status == 100)
            try client.send("body")
            #expect(try client.readResponse().text == "body")
        }
    }

    @Test func certificateVerifiesForTheIPAddressToo() throws {
        let certificates = try TestCertificates()
        let configuration = Self.configuration(certificates.server.tlsConfiguration)
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            let client = try server.connectTLS(trusting: certificates, serverName: "127.0.0.1")
            #expect(try client.request(request(target: "/by-ip")).text == "/by-ip")
        }
    }

    @Test func clientRefusesACertificateForAnotherName() throws {
        // The control that makes the other TLS tests meaningful: verification is really on.
        let certificates = try TestCertificates()
        let configuration = Self.configuration(certificates.server.tlsConfiguration)
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            #expect(throws: TestClientError.self) {
                _ = try server.connectTLS(trusting: certificates, serverName: "not-this-server.example")
            }
            // A bad handshake costs the server nothing.
            let client = try server.connectTLS(trusting: certificates)
            #expect(try client.request(request(target: "/after")).text == "/after")
        }
    }

    @Test func garbageInsteadOfClientHelloIsClosedAndServerKeepsServing() throws {
        let certificates = try TestCertificates()
        let configuration = Self.configuration(certificates.server.tlsConfiguration)
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            let tlsPort = try #require(server.tlsPort)
            let garbage = try RawClient(port: tlsPort)
            try garbage.send(request(target: "/plain-http-on-the-tls-port"))
            let received = try garbage.readUntilClose()
            // At most a TLS alert record (content type 21, RFC 8446 §5.1); never an HTTP answer.
            #expect(received.isEmpty || received.first == 21, "\(received)")
            #expect(server.stats.failedTLSHandshakes == 1)

            let tlsClient = try server.connectTLS(trusting: certificates)
            #expect(try tlsClient.request(request(target: "/tls-after")).text == "/tls-after")
            try expectServesNewConnection(server)
        }
    }

    @Test func handshakeStalledAfterClientHelloIsDroppedAfterTheTimeout() throws {
        let certificates = try TestCertificates()
        var configuration = Self.configuration(certificates.server.tlsConfiguration)
        configuration.tlsHandshakeTimeout = .milliseconds(300)
        configuration.timerResolution = .milliseconds(50)
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            let tlsPort = try #require(server.tlsPort)
            let staller = try RawClient(port: tlsPort)
            try staller.send(try TLSClient.clientHello())
            // The server answers the hello with its flight (a handshake record, type 22), then
            // waits for our Finished, which never comes, until the handshake timeout.
            let received = try staller.readUntilClose()
            #expect(received.first == 22, "\(received.prefix(16))")
            #expect(server.stats.failedTLSHandshakes == 1)

            let client = try server.connectTLS(trusting: certificates)
            #expect(try client.request(request(target: "/after-stall")).text == "/after-stall")
        }
    }

    @Test func silentTLSClientIsDroppedAfterTheHandshakeTimeout() throws {
        let certificates = try TestCertificates()
        var configuration = Self.configuration(certificates.server.tlsConfiguration)
        configuration.tlsHandshakeTimeout = .milliseconds(300)
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            let silent = try RawClient(port: try #require(server.tlsPort))
            #expect(try silent.readUntilClose() == [])
            #expect(server.stats.failedTLSHandshakes == 1)
        }
    }

    @Test func reloadServesTheNewCertificateToNewConnectionsAndKeepsOpenOnes() throws {
        let certificates = try TestCertificates()
        let replacement = try certificates.issueServerCertificate(commonName: "parley-test-server-2", serial: 0x5EA1002)
        let configuration = Self.configuration(try certificates.install(certificates.server))
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            let before = try server.connectTLS(trusting: certificates)
            #expect(before.peerCertificate.serialNumber == certificates.server.serialNumber)
            #expect(try before.request(request(target: "/before")).text == "/before")

            try certificates.install(replacement)
            try server.server.reloadTLS()

            let after = try server.connectTLS(trusting: certificates)
            #expect(after.peerCertificate.serialNumber == replacement.serialNumber)
            #expect(after.peerCertificate.commonName == "parley-test-server-2")
            #expect(try after.request(request(target: "/after")).text == "/after")

            // The keep-alive connection opened before the reload keeps its session and works on.
            #expect(try before.request(request(target: "/before-again")).text == "/before-again")
            #expect(server.stats.acceptedConnections == 2)
        }
    }

    // MARK: Certificates that must not serve (issue #9, security)

    /// The error a server start with `tls` throws.
    static func startFailure(_ tls: TLSConfiguration) throws -> TLSError? {
        let configuration = Self.configuration(tls)
        #expect(throws: TLSError.self) { try tls.validate() }
        return #expect(throws: TLSError.self) {
            try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { _ in }
        }
    }

    @Test func expiredCertificateStopsTheStartWithItsDate() throws {
        let certificates = try TestCertificates()
        let expired = try certificates.issueServerCertificate(
            commonName: "expired", serial: 0x5EA1E01, validFrom: "20200101000000Z", until: "20200201000000Z")
        let error = try #require(try Self.startFailure(expired.tlsConfiguration))
        #expect(error.description.contains("the certificate expired on 2020-02-01 00:00:00 UTC"), "\(error)")
        #expect(error.description.contains(expired.certificatePath), "\(error)")
    }

    @Test func certificateNotValidYetStopsTheStart() throws {
        let certificates = try TestCertificates()
        let early = try certificates.issueServerCertificate(
            commonName: "early", serial: 0x5EA1E02, validFrom: "20990101000000Z", until: "20991231000000Z")
        let error = try #require(try Self.startFailure(early.tlsConfiguration))
        #expect(error.description.contains("not valid before 2099-01-01 00:00:00 UTC"), "\(error)")
    }

    @Test func keyOfAnotherCertificateStopsTheStart() throws {
        let certificates = try TestCertificates()
        let other = try certificates.issueServerCertificate(commonName: "other", serial: 0x5EA1E03)
        let mismatched = certificates.mismatchedPair(certificate: certificates.server, key: other)
        let error = try #require(try Self.startFailure(mismatched.tlsConfiguration))
        #expect(error.description.contains("is not the key of the certificate in \(certificates.server.certificatePath)"), "\(error)")
    }

    @Test func missingOrGarbledFilesStopTheStartNamingTheFile() throws {
        let certificates = try TestCertificates()
        let garbled = try certificates.directory.write(Array("not a certificate".utf8), to: "garbled.pem")
        let missing = certificates.directory.file("missing.pem")
        for (certificate, key, named) in [
            (missing, certificates.server.privateKeyPath, missing),
            (garbled, certificates.server.privateKeyPath, garbled),
            (certificates.server.certificatePath, missing, missing),
            (certificates.server.certificatePath, garbled, garbled),
        ] {
            let tls = TLSConfiguration(certificatePath: certificate, privateKeyPath: key)
            let error = try #require(try Self.startFailure(tls))
            #expect(error.description.contains(named), "\(error)")
        }
    }

    @Test func reloadRefusesAnExpiredCertificateOrAForeignKeyAndKeepsServing() throws {
        let certificates = try TestCertificates()
        let expired = try certificates.issueServerCertificate(
            commonName: "expired", serial: 0x5EA1E04, validFrom: "20200101000000Z", until: "20200201000000Z")
        let other = try certificates.issueServerCertificate(commonName: "other", serial: 0x5EA1E05)
        let configuration = Self.configuration(try certificates.install(certificates.server))
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            for bad in [expired, certificates.mismatchedPair(certificate: other, key: certificates.server)] {
                try certificates.install(bad)
                #expect(throws: TLSError.self) { try server.server.reloadTLS() }
                let client = try server.connectTLS(trusting: certificates)
                #expect(client.peerCertificate.serialNumber == certificates.server.serialNumber)
                #expect(try client.request(request(target: "/still")).text == "/still")
            }
            // The control: a good pair at the same paths is taken.
            try certificates.install(other)
            try server.server.reloadTLS()
            #expect(try server.connectTLS(trusting: certificates).peerCertificate.serialNumber == other.serialNumber)
        }
    }

    // MARK: Protocol versions and cipher suites

    @Test func tls11AndTLS10AreRefused() throws {
        let certificates = try TestCertificates()
        let configuration = Self.configuration(certificates.server.tlsConfiguration)
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            for version: TLSClient.Offer.Version in [.tls1_1, .tls1] {
                // @SECLEVEL=0 so that the client really offers the old version; the server refuses.
                let offer = TLSClient.Offer(maxVersion: version, minVersion: version, cipherList: "DEFAULT:@SECLEVEL=0")
                let error = #expect(throws: TestClientError.self) { _ = try server.connectTLS(trusting: certificates, offer: offer) }
                #expect(error.map { "\($0)" }?.contains("protocol version") == true, "\(String(describing: error))")
            }
            #expect(server.stats.failedTLSHandshakes == 2)
            // The control: the same client settings capped at TLS 1.2 connect.
            let offer = TLSClient.Offer(maxVersion: .tls1_2, cipherList: "DEFAULT:@SECLEVEL=0")
            let client = try server.connectTLS(trusting: certificates, offer: offer)
            #expect(client.protocolVersion == "TLSv1.2")
        }
    }

    @Test func tls12OffersOnlyForwardSecretAEADSuites() throws {
        let certificates = try TestCertificates()
        let configuration = Self.configuration(certificates.server.tlsConfiguration)
        let tls12 = TLSClient.Offer.Version.tls1_2
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            // CBC with SHA-1 and with SHA-256 MACs, and anonymous and NULL suites: all refused.
            for cipher in ["ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-AES128-SHA256",
                           "aNULL:@SECLEVEL=0", "eNULL:@SECLEVEL=0", "3DES:@SECLEVEL=0"] {
                let offer = TLSClient.Offer(maxVersion: tls12, cipherList: cipher)
                #expect(throws: TestClientError.self, "\(cipher)") { _ = try server.connectTLS(trusting: certificates, offer: offer) }
            }
            for cipher in ["ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-ECDSA-CHACHA20-POLY1305"] {
                let client = try server.connectTLS(trusting: certificates, offer: TLSClient.Offer(maxVersion: tls12, cipherList: cipher))
                #expect(client.protocolVersion == "TLSv1.2")
                #expect(try client.request(request(target: "/\(cipher)")).text == "/\(cipher)")
            }
        }
    }

    @Test func failedReloadKeepsTheCurrentCertificate() throws {
        let certificates = try TestCertificates()
        let configuration = Self.configuration(try certificates.install(certificates.server))
        try withTestServer(configuration: configuration, responder: ClosureResponder.echoTarget) { server in
            try certificates.directory.write(Array("not a certificate".utf8), to: "active.pem")
            #expect(throws: TLSError.self) { try server.server.reloadTLS() }
            let client = try server.connectTLS(trusting: certificates)
            #expect(client.peerCertificate.serialNumber == certificates.server.serialNumber)
            #expect(try client.request(request(target: "/still")).text == "/still")
        }
    }
}
