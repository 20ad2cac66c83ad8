import IMAPProtocol
import MaildirStore
import XCTest

@testable import IMAPServer

/// The error taxonomy (issue 12): each kind has one wire form, and a server fault's
/// reason stays in the log.
final class CommandErrorTests: XCTestCase {
    static func name(_ code: ResponseCode?) -> String { code.map { "\($0)" } ?? "nil" }

    func testEachKindHasItsWireForm() {
        XCTAssertEqual(CommandError.readOnly.status, .no)
        XCTAssertEqual(Self.name(CommandError.readOnly.code), "readOnly")
        XCTAssertEqual(CommandError.readOnly.kind, .user)
        XCTAssertEqual(CommandError.qresyncNotEnabled.status, .bad)
        XCTAssertEqual(Self.name(CommandError.qresyncNotEnabled.code), "nil")
        XCTAssertEqual(CommandError.qresyncNotEnabled.kind, .syntax)
        let fault = CommandError.serverFault("open /home/alice/Maildir/cur/x failed")
        XCTAssertEqual(fault.status, .no)
        XCTAssertEqual(Self.name(fault.code), "serverBug")
        XCTAssertEqual(fault.kind, .server)
        XCTAssertEqual(fault.text, CommandError.serverFaultText)
        XCTAssertFalse(fault.text.contains("alice"))
    }

    func testStorageErrorsMapToUserErrorsOrServerFaults() {
        let name = MailboxName("Archive")
        XCTAssertEqual(Self.name(CommandError.of(StoreError.nonexistent("Archive"), name: name).code), "nonexistent")
        XCTAssertEqual(
            CommandError.of(StoreError.nonexistent("Archive"), name: name).text, "Mailbox doesn't exist: Archive")
        XCTAssertEqual(
            Self.name(CommandError.of(StoreError.alreadyExists("Archive"), name: name).code), "alreadyExists")
        XCTAssertEqual(Self.name(CommandError.of(StoreError.locked("/x"), name: name).code), "inUse")
        XCTAssertEqual(Self.name(CommandError.of(StoreError.tooManyKeywords, name: name).code), "limit")
        XCTAssertEqual(CommandError.of(StoreError.io("/home/alice", errno: 5), name: name).kind, .server)
    }
}
