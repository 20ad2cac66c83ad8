import Foundation
import IMAPServer
import Logging
import NIOCore
import NIOPosix
import XCTest

#if canImport(Glibc)
    import Glibc
#endif

/// Implicit TLS, STARTTLS (RFC 9051 §6.2.1), the STARTTLS injection class
/// (CVE-2011-0411), certificate reload, and LOGINDISABLED off loopback.
final class TLSTests: XCTestCase {
    var maildir: TemporaryMaildir!
    var certificate: TestCertificate!
    var server: IMAPServer!
    var plainPort = 0
    var tlsPort = 0
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)

    override func setUp() async throws {
        maildir = try TemporaryMaildir()
        try maildir.makeUser("alice")
        let passwd = maildir.root + "/passwd"
        _ = FileManager.default.createFile(atPath: passwd, contents: Data("alice:{PLAIN}secret::::::\n".utf8))
        certificate = try TestCertificate.make(in: maildir.root)
    }

    /// XCTest keeps every test case object until the process ends (and never runs
    /// deinit then), so what an instance holds is let go of here: the Maildir with the
    /// private key is removed now, not left in the temporary directory.
    override func tearDown() async throws {
        await server?.shutdown()
        server = nil
        try await group.shutdownGracefully()
        certificate = nil
        if let root = maildir?.root { try? FileManager.default.removeItem(atPath: root) }
        maildir = nil
    }

    /// Starts the server with one plain and one implicit-TLS listener on `host`.
    func startServer(
        host: String = "127.0.0.1", configure: (inout ServerConfiguration) -> Void = { _ in }
    ) async throws {
        var config = ServerConfiguration(root: maildir.root, passwdFile: maildir.root + "/passwd")
        config.listen = [ListenAddress(host: host, port: 0)]
        config.tlsListen = [ListenAddress(host: host, port: 0)]
        config.tlsCertificate = certificate.source
        config.serverName = "test"
        configure(&config)
        var logger = Logger(label: "test")
        logger.logLevel = .error
        server = try IMAPServer(configuration: config, logger: logger)
        let addresses = try await server.start()
        plainPort = addresses[0].port ?? 0
        tlsPort = addresses[1].port ?? 0
    }

    func testImplicitTLSLoginSelectAndStore() async throws {
        try maildir.deliver("alice", name: "1.M1P1.test", into: "cur", body: "Subject: hi\r\n\r\nbody\r\n")
        try await startServer()
        let client = try await TLSTestClient(group: group, port: tlsPort, implicitTLSTrusting: certificate.certFile)
        let greeting = try await client.readLine()
        XCTAssertTrue(greeting.hasPrefix("* OK [CAPABILITY "), greeting)
        XCTAssertFalse(greeting.contains("STARTTLS"), "no STARTTLS on a TLS connection")
        XCTAssertTrue(greeting.contains("AUTH=PLAIN"))
        let again = try await client.command("s", "STARTTLS")
        XCTAssertTrue(again.last?.hasPrefix("s BAD") ?? false, "\(again)")
        let login = try await client.command("a", "LOGIN alice secret")
        XCTAssertTrue(login.last?.hasPrefix("a OK") ?? false, "\(login)")
        let select = try await client.command("b", "SELECT INBOX")
        XCTAssertTrue(select.contains("* 1 EXISTS"), "\(select)")
        let store = try await client.command("c", "STORE 1 +FLAGS (\\Flagged)")
        XCTAssertTrue(store.last?.hasPrefix("c OK") ?? false, "\(store)")
        let files = maildir.files("alice", "cur")
        XCTAssertEqual(files.count, 1)
        XCTAssertTrue(files.first?.hasSuffix(":2,F") ?? false, "\(files)")
        await client.close()
    }

    /// A client that opens the implicit-TLS port and never sends a ClientHello is
    /// closed at the handshake deadline, however long the autologout and the login
    /// deadline are. The rules are ConnectionMachine tests with a fake clock; this
    /// checks that the handler arms the real timer. Nothing is written: there is no
    /// TLS to write in.
    func testImplicitTLSHandshakeTimesOut() async throws {
        try await startServer {
            $0.tlsHandshakeTimeoutSeconds = 1
            $0.loginTimeoutSeconds = 60
            $0.idleTimeoutSeconds = 60
        }
        // A plain TCP client: it sends no ClientHello.
        let channel = try await ClientBootstrap(group: group).connect(host: "127.0.0.1", port: tlsPort).get()
        let closed = channel.eventLoop.makePromise(of: Bool.self)
        let giveUp = channel.eventLoop.scheduleTask(in: .seconds(10)) { closed.succeed(false) }
        channel.closeFuture.whenComplete { _ in
            giveUp.cancel()
            closed.succeed(true)
        }
        let closedByServer = try await closed.futureResult.get()
        XCTAssertTrue(closedByServer, "still open 10 s after a 1 s handshake deadline")
        try? await channel.close()
    }

    func testStartTLSThenLogin() async throws {
        try maildir.deliver("alice", name: "1.M1P1.test", into: "cur", body: "Subject: hi\r\n\r\nbody\r\n")
        try await startServer()
        let client = try await TLSTestClient(group: group, port: plainPort)
        let greeting = try await client.readLine()
        XCTAssertTrue(greeting.contains(" STARTTLS"), greeting)
        let ok = try await client.command("a", "STARTTLS")
        XCTAssertEqual(ok.count, 1)
        XCTAssertTrue(ok[0].hasPrefix("a OK"), ok[0])
        try await client.startTLS(trusting: certificate.certFile)
        let caps = try await client.command("b", "CAPABILITY")
        XCTAssertTrue(caps.last?.hasPrefix("b OK") ?? false, "\(caps)")
        XCTAssertFalse(caps[0].contains("STARTTLS"), caps[0])
        let twice = try await client.command("c", "STARTTLS")
        XCTAssertTrue(twice.last?.hasPrefix("c BAD") ?? false, "\(twice)")
        let login = try await client.command("d", "LOGIN alice secret")
        XCTAssertTrue(login.last?.hasPrefix("d OK") ?? false, "\(login)")
        let select = try await client.command("e", "SELECT INBOX")
        XCTAssertTrue(select.contains("* 1 EXISTS"), "\(select)")
        let store = try await client.command("f", "STORE 1 +FLAGS (\\Seen)")
        XCTAssertTrue(store.last?.hasPrefix("f OK") ?? false, "\(store)")
        XCTAssertEqual(maildir.files("alice", "cur"), ["1.M1P1.test:2,S"], "flag written to disk")
        await client.close()
    }

    /// CVE-2011-0411: commands pipelined in clear after STARTTLS, in the same packet,
    /// are neither answered in clear nor executed once TLS is up.
    func testStartTLSInjectionIsDiscarded() async throws {
        try await startServer()
        let client = try await TLSTestClient(group: group, port: plainPort)
        _ = try await client.readLine()
        try await client.send("a STARTTLS\r\nb LOGIN alice secret\r\n")
        let ok = try await client.readLine()
        XCTAssertTrue(ok.hasPrefix("a OK"), ok)
        try await client.startTLS(trusting: certificate.certFile)
        // Anything the server sent for b, in clear or encrypted, would come first.
        let caps = try await client.command("c", "CAPABILITY")
        XCTAssertEqual(caps.count, 2, "\(caps)")
        XCTAssertTrue(caps[0].hasPrefix("* CAPABILITY "), caps[0])
        XCTAssertFalse(caps.contains { $0.hasPrefix("b") }, "\(caps)")
        let select = try await client.command("d", "SELECT INBOX")
        XCTAssertEqual(select.count, 1, "\(select)")
        XCTAssertTrue(select[0].hasPrefix("d BAD"), "the injected LOGIN did not run: \(select[0])")
        await client.close()
    }

    /// SIGHUP's work: new connections get the re-read certificate.
    func testReloadCertificates() async throws {
        try await startServer()
        let first = try await TLSTestClient(group: group, port: tlsPort, implicitTLSTrusting: certificate.certFile)
        let greeting = try await first.readLine()
        XCTAssertTrue(greeting.hasPrefix("* OK"), greeting)
        let oldCopy = maildir.root + "/old-cert.pem"
        try FileManager.default.copyItem(atPath: certificate.certFile, toPath: oldCopy)

        // Overwrite the configured files with a new certificate and key, then reload.
        let fresh = try TestCertificate.make(in: maildir.root, name: "fresh")
        try FileManager.default.removeItem(atPath: certificate.certFile)
        try FileManager.default.removeItem(atPath: certificate.keyFile)
        try FileManager.default.copyItem(atPath: fresh.certFile, toPath: certificate.certFile)
        try FileManager.default.copyItem(atPath: fresh.keyFile, toPath: certificate.keyFile)
        try server.reloadCertificates()

        let trustsNew = try await TLSTestClient(group: group, port: tlsPort, implicitTLSTrusting: fresh.certFile)
        let newGreeting = try await trustsNew.readLine()
        XCTAssertTrue(newGreeting.hasPrefix("* OK"), newGreeting)
        let trustsOld = try await TLSTestClient(group: group, port: tlsPort, implicitTLSTrusting: oldCopy)
        do {
            let line = try await trustsOld.readLine()
            XCTFail("handshake with the old certificate should fail, got \(line)")
        } catch {}
        // The connection made before the reload keeps working.
        let noop = try await first.command("n", "NOOP")
        XCTAssertTrue(noop.last?.hasPrefix("n OK") ?? false, "\(noop)")
        await first.close()
        await trustsNew.close()
    }

    /// A broken certificate file keeps the old certificate in use.
    func testReloadFailureKeepsOldCertificate() async throws {
        try await startServer()
        let trusted = maildir.root + "/trusted.pem"
        try FileManager.default.copyItem(atPath: certificate.certFile, toPath: trusted)
        try "not a certificate".write(toFile: certificate.certFile, atomically: true, encoding: .utf8)
        XCTAssertThrowsError(try server.reloadCertificates())
        let client = try await TLSTestClient(group: group, port: tlsPort, implicitTLSTrusting: trusted)
        let greeting = try await client.readLine()
        XCTAssertTrue(greeting.hasPrefix("* OK"), greeting)
        await client.close()
    }

    /// Off loopback and without TLS: LOGINDISABLED, no AUTH=PLAIN, LOGIN refused with
    /// PRIVACYREQUIRED; after STARTTLS login works. Needs a non-loopback IPv4 address
    /// on this machine (skipped without one).
    func testNonLoopbackNeedsTLS() async throws {
        guard let address = Self.nonLoopbackIPv4() else { throw XCTSkip("no non-loopback IPv4 address") }
        try await startServer(host: address)
        let client = try await TLSTestClient(group: group, host: address, port: plainPort)
        let greeting = try await client.readLine()
        XCTAssertTrue(greeting.contains("LOGINDISABLED"), greeting)
        XCTAssertFalse(greeting.contains("AUTH=PLAIN"), greeting)
        XCTAssertTrue(greeting.contains("STARTTLS"), greeting)
        let login = try await client.command("a", "LOGIN alice secret")
        XCTAssertTrue(login.last?.hasPrefix("a NO [PRIVACYREQUIRED]") ?? false, "\(login)")
        let auth = try await client.command("p", "AUTHENTICATE PLAIN AGFsaWNlAHNlY3JldA==")
        XCTAssertTrue(auth.last?.hasPrefix("p NO [PRIVACYREQUIRED]") ?? false, "\(auth)")
        _ = try await client.command("b", "STARTTLS")
        try await client.startTLS(trusting: certificate.certFile)
        let caps = try await client.command("c", "CAPABILITY")
        XCTAssertTrue(caps[0].contains("AUTH=PLAIN"), caps[0])
        XCTAssertFalse(caps[0].contains("LOGINDISABLED"), caps[0])
        let secure = try await client.command("d", "LOGIN alice secret")
        XCTAssertTrue(secure.last?.hasPrefix("d OK") ?? false, "\(secure)")
        await client.close()
    }

    static func nonLoopbackIPv4() -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0, let first = list else { return nil }
        defer { freeifaddrs(list) }
        var cursor: UnsafeMutablePointer<ifaddrs>? = first
        while let entry = cursor {
            defer { cursor = entry.pointee.ifa_next }
            guard let addr = entry.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET) else { continue }
            var host = [CChar](repeating: 0, count: Int(NI_MAXHOST))
            let ok = getnameinfo(
                addr, socklen_t(MemoryLayout<sockaddr_in>.size), &host, socklen_t(host.count), nil, 0, NI_NUMERICHOST)
            guard ok == 0 else { continue }
            let text = String(decoding: host.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            if !text.hasPrefix("127.") { return text }
        }
        return nil
    }
}
