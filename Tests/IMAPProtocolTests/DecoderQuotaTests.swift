import IMAPProtocol
import NIOCore
import XCTest

/// RFC 9208 §7 commands, decoded whole and byte by byte, and the QUOTA responses.
final class DecoderQuotaTests: XCTestCase {
    func testGetQuotaAndGetQuotaRoot() {
        assertCommand(#"a GETQUOTA "User quota""#, .getQuota("User quota"))
        assertCommand("a getquota root", .getQuota("root"))
        assertCommand("a GETQUOTAROOT INBOX", .getQuotaRoot(.inbox))
        assertCommand(#"a GETQUOTAROOT "Sent Items""#, .getQuotaRoot(MailboxName("Sent Items")))
        assertBad("a GETQUOTA")
        assertBad("a GETQUOTAROOT")
        assertBad("a GETQUOTAROOT INBOX extra")
    }

    func testSetQuotaIsParsedWhole() {
        assertCommand(
            #"a SETQUOTA "" (storage 512 MESSAGE 10)"#,
            .setQuota(
                "", [QuotaResourceLimit(name: "STORAGE", limit: 512), QuotaResourceLimit(name: "MESSAGE", limit: 10)]))
        assertCommand(#"a SETQUOTA "User quota" ()"#, .setQuota("User quota", []))
        assertBad(#"a SETQUOTA "User quota" (STORAGE)"#)
        assertBad(#"a SETQUOTA "User quota" (STORAGE x)"#)
        assertBad(#"a SETQUOTA "User quota" STORAGE 1"#)
        assertBad(#"a SETQUOTA "User quota" (STORAGE 1"#)
        assertBad("a SETQUOTA")
        assertBad(#"a SETQUOTA "User quota" (STORAGE 99999999999999999999)"#)
    }

    func testQuotaResponses() {
        let encoder = ResponseEncoder()
        var buffer = ByteBuffer()
        encoder.encode(
            .untagged(
                .quota(
                    root: "User quota",
                    [
                        QuotaResource(name: "STORAGE", usage: 10, limit: 512),
                        QuotaResource(name: "MESSAGE", usage: 1, limit: 27),
                    ])), into: &buffer)
        encoder.encode(.untagged(.quotaRoot(mailbox: .inbox, roots: ["User quota"])), into: &buffer)
        encoder.encode(.untagged(.quotaRoot(mailbox: MailboxName("a b"), roots: [])), into: &buffer)
        XCTAssertEqual(
            String(buffer: buffer),
            "* QUOTA \"User quota\" (STORAGE 10 512 MESSAGE 1 27)\r\n* QUOTAROOT INBOX \"User quota\"\r\n"
                + "* QUOTAROOT \"a b\"\r\n")
    }
}
