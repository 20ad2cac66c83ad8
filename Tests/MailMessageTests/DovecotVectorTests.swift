import IMAPProtocol
import XCTest

@testable import MailMessage

/// Messages and expected BODY / BODYSTRUCTURE from Dovecot's own test suite
/// (src/lib-imap/test-imap-bodystructure.c), compared in Dovecot's rendering.
final class DovecotVectorTests: XCTestCase {
    struct Vector {
        var message: String
        var bodystructure: String
        var body: String
    }

    static let vectors: [Vector] = [
        Vector(
            message: """
                From: user@domain.org
                Date: Sat, 24 Mar 2017 23:00:00 +0200
                Mime-Version: 1.0
                Content-Type: text/plain; charset=us-ascii

                body

                """,
            bodystructure: #""text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL"#,
            body: #""text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1"#),
        Vector(
            message: """
                From: user@domain.org
                Date: Sat, 24 Mar 2017 23:00:00 +0200
                Mime-Version: 1.0
                Content-Type: text/plain; charset=utf-8
                Content-Transfer-Encoding: 8bit

                body


                """,
            bodystructure: #""text" "plain" ("charset" "utf-8") NIL NIL "8bit" 8 2 NIL NIL NIL NIL"#,
            body: #""text" "plain" ("charset" "utf-8") NIL NIL "8bit" 8 2"#),
        Vector(
            message: """
                From: user@domain.org
                Date: Sat, 24 Mar 2007 23:00:00 +0200
                Mime-Version: 1.0
                Content-Type: multipart/mixed; boundary="foo
                 bar"

                --foo bar
                Content-Type: text/x-myown; charset=us-ascii

                hello

                --foo bar--


                """,
            bodystructure:
                #"("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 7 1 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL"#,
            body: #"("text" "x-myown" ("charset" "us-ascii") NIL NIL "7bit" 7 1) "mixed""#),
        Vector(
            message: """
                From: user@domain.org
                Date: Sat, 24 Mar 2017 23:00:00 +0200
                Mime-Version: 1.0
                Content-Type: multipart/mixed; boundary="foo bar"

                --foo bar
                Content-Type: text/plain; charset=us-ascii

                See attached...

                --foo bar
                Content-Type: message/rfc822

                From: user@domain.org
                Date: Sat, 24 Mar 2017 23:00:00 +0200
                Mime-Version: 1.0
                Content-Type: text/plain; charset=us-ascii

                body

                --foo bar--


                """,
            bodystructure:
                #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 17 1 NIL NIL NIL NIL)("message" "rfc822" NIL NIL NIL "7bit" 133 ("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL"#,
            body:
                #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 17 1)("message" "rfc822" NIL NIL NIL "7bit" 133 ("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1) 6) "mixed""#
        ),
        Vector(
            message: """
                From: user@domain.org
                Date: Sat, 24 Mar 2017 23:00:00 +0200
                Mime-Version: 1.0
                Content-Type: multipart/mixed; boundary="foo bar"

                --foo bar
                Content-Type: text/plain; charset=us-ascii
                Content-ID: <A.frop.example.com>
                Content-Description: Container message

                See attached...

                --foo bar
                Content-Type: message/rfc822
                Content-ID: <B.frop.example.com>
                Content-Description: Forwarded

                From: user@domain.org
                Date: Sat, 24 Mar 2017 23:00:00 +0200
                Mime-Version: 1.0
                Content-Type: text/plain; charset=us-ascii

                body

                --foo bar--

                """,
            bodystructure:
                #"("text" "plain" ("charset" "us-ascii") "<A.frop.example.com>" "Container message" "7bit" 17 1 NIL NIL NIL NIL)("message" "rfc822" NIL "<B.frop.example.com>" "Forwarded" "7bit" 133 ("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL"#,
            body:
                #"("text" "plain" ("charset" "us-ascii") "<A.frop.example.com>" "Container message" "7bit" 17 1)("message" "rfc822" NIL "<B.frop.example.com>" "Forwarded" "7bit" 133 ("Sat, 24 Mar 2017 23:00:00 +0200" NIL ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) ((NIL NIL "user" "domain.org")) NIL NIL NIL NIL NIL) ("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 6 1) 6) "mixed""#
        ),
        Vector(
            message: """
                From: user@domain.org
                Date: Sat, 24 Mar 2007 23:00:00 +0200
                Mime-Version: 1.0
                Content-Type: multipart/mixed; boundary="foo
                 bar"

                Root MIME prologue

                --foo bar
                Content-Type: text/x-myown; charset=us-ascii; foo="quoted\\"string"
                Content-ID: <foo@example.com>
                Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==
                Content-Disposition: inline; foo=bar
                Content-Description: hellodescription
                Content-Language: en, fi, se
                Content-Location: http://example.com/test.txt

                hello

                --foo bar
                Content-Type: message/rfc822

                From: sub@domain.org
                To: sub-to1@domain.org, sub-to2@domain.org
                Date: Sun, 12 Aug 2012 12:34:56 +0300
                Subject: submsg
                Content-Type: multipart/alternative; boundary="sub1"

                Sub MIME prologue
                --sub1
                Content-Type: text/html
                Content-Transfer-Encoding: 8bit

                <p>Hello world</p>

                --sub1
                Content-Type: text/plain
                Content-Transfer-Encoding: ?invalid

                Hello another world

                --sub1--
                Sub MIME epilogue

                --foo bar--
                Root MIME epilogue

                """,
            bodystructure:
                #"("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1 "Q2hlY2sgSW50ZWdyaXR5IQ==" ("inline" ("foo" "bar")) ("en" "fi" "se") "http://example.com/test.txt")("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1 NIL NIL NIL NIL)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1 NIL NIL NIL NIL) "alternative" ("boundary" "sub1") NIL NIL NIL) 21 NIL NIL NIL NIL) "mixed" ("boundary" "foo bar") NIL NIL NIL"#,
            body:
                #"("text" "x-myown" ("charset" "us-ascii" "foo" "quoted\"string") "<foo@example.com>" "hellodescription" "7bit" 7 1)("message" "rfc822" NIL NIL NIL "7bit" 412 ("Sun, 12 Aug 2012 12:34:56 +0300" "submsg" ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub" "domain.org")) ((NIL NIL "sub-to1" "domain.org")(NIL NIL "sub-to2" "domain.org")) NIL NIL NIL NIL) (("text" "html" ("charset" "us-ascii") NIL NIL "8bit" 20 1)("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 21 1) "alternative") 21) "mixed""#
        ),
        Vector(
            message: "Content-Type: multipart/mixed; boundary=\"foo\"\n\n",
            bodystructure:
                #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0 NIL NIL NIL NIL) "mixed" ("boundary" "foo") NIL NIL NIL"#,
            body: #"("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" 0 0) "mixed""#),
    ]

    func testDovecotBodyStructureVectors() {
        for (i, vector) in Self.vectors.enumerated() {
            withMessage(vector.message) { tree, raw in
                XCTAssertEqual(
                    DovecotFormat.body(tree.bodyStructure(raw, extensible: true), extensible: true),
                    vector.bodystructure, "vector \(i) BODYSTRUCTURE")
                XCTAssertEqual(
                    DovecotFormat.body(tree.bodyStructure(raw, extensible: false), extensible: false),
                    vector.body, "vector \(i) BODY")
            }
        }
    }

    func testSameVectorsWithCRLFLineEnds() {
        // Sizes are CRLF sizes, so converting the file to CRLF changes nothing.
        for (i, vector) in Self.vectors.enumerated() {
            let crlf = vector.message.replacingOccurrences(of: "\n", with: "\r\n")
            withMessage(crlf) { tree, raw in
                XCTAssertEqual(
                    DovecotFormat.body(tree.bodyStructure(raw, extensible: true), extensible: true),
                    vector.bodystructure, "vector \(i) BODYSTRUCTURE (CRLF)")
                XCTAssertEqual(tree.crlfSize, raw.count)
            }
        }
    }
}
