import Foundation
import IMAPServer
import LogCapture
import XCTest

/// The PROXY protocol on the real server (issue 17): a listed proxy's header gives the
/// session the real client address (logs see it) and plaintext LOGIN is accepted from
/// the proxy; a listed proxy that sends no valid header is closed before the greeting.
final class ProxyProtocolServerTests: XCTestCase {
    private let header = Array("PROXY TCP4 192.0.2.7 127.0.0.1 40000 143\r\n".utf8)

    func testProxiedLoginSeesRealClientAddress() async throws {
        let capture = LogCapture()
        let server = try await RunningServer(logger: capture.logger()) { config in
            config.proxyProtocolFrom = ["127.0.0.1"]
            config.allowPlaintextAuth = false
        }
        do {
            let client = try TestClient(port: server.port, preamble: header)
            XCTAssertTrue(client.greetingLine.hasPrefix("* OK"), client.greetingLine)
            let caps = try client.command("CAPABILITY")
            XCTAssertFalse(caps.untagged.joined().contains("LOGINDISABLED"), "\(caps.untagged)")
            try client.login()
            XCTAssertTrue(try client.command("NOOP").ok)
        } catch {
            XCTFail("\(error)")
        }
        await server.stop()
        let logins = capture.records.filter { $0.message == "logged in" }
        XCTAssertEqual(logins.count, 1)
        XCTAssertEqual(logins.first?.metadata["peer"], "192.0.2.7")
    }

    func testListedProxyWithoutHeaderIsClosedBeforeGreeting() async throws {
        let server = try await RunningServer { $0.proxyProtocolFrom = ["127.0.0.1"] }
        XCTAssertThrowsError(try TestClient(port: server.port, preamble: Array("a LOGIN alice secret\r\n".utf8)))
        await server.stop()
    }

    /// Not a listed address: a PROXY line is an ordinary (bad) IMAP command after the
    /// greeting, and the address it names is never believed.
    func testUnlistedPeerGetsNoProxyProtocol() async throws {
        let server = try await RunningServer { $0.proxyProtocolFrom = ["127.0.0.2"] }
        do {
            let client = try TestClient(port: server.port, preamble: header)
            XCTAssertTrue(client.greetingLine.hasPrefix("* OK"), client.greetingLine)
            XCTAssertTrue(try client.readLine().hasPrefix("PROXY BAD"))
        } catch {
            XCTFail("\(error)")
        }
        await server.stop()
    }
}
