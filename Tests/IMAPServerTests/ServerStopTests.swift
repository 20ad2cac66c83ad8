import XCTest

@testable import IMAPServer

/// Stopping the server: BYE to a waiting session (the rule's variants are
/// ConnectionMachine tests), and a second stop (a test's own and its teardown's) is
/// harmless.
final class ServerStopTests: XCTestCase {
    func testStopSaysByeToAWaitingSessionAndStoppingTwiceIsHarmless() async throws {
        let server = try await startServer()
        let client = try server.connect()
        try client.login()
        await server.stop()
        XCTAssertEqual(client.readUntilClosed(), "* BYE Server shutting down.\r\n")
        await server.stop()  // the teardown block stops it a third time
        XCTAssertThrowsError(try server.connect(), "no longer listening")
    }
}
