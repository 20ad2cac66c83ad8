import Foundation
import IMAPProtocol
import XCTest

@testable import MailMessage

/// Parses `text` (LF line ends as written unless the test adds CRs) and runs `body`
/// with the tree and the raw bytes.
func withMessage<T>(
    _ text: String, limits: MessageLimits = MessageLimits(), _ body: (MessageTree, UnsafeRawBufferPointer) throws -> T
) rethrows -> T {
    let bytes = Array(text.utf8)
    return try withMessage(bytes, limits: limits, body)
}

func withMessage<T>(
    _ bytes: [UInt8], limits: MessageLimits = MessageLimits(), _ body: (MessageTree, UnsafeRawBufferPointer) throws -> T
) rethrows -> T {
    try bytes.withUnsafeBytes { raw in
        let tree = MessageTree.parse(raw, limits: limits)
        return try body(tree, raw)
    }
}

/// Loads `Fixtures/<name>` next to this file.
func fixture(_ name: String, file: StaticString = #filePath) throws -> [UInt8] {
    let url = URL(fileURLWithPath: "\(file)").deletingLastPathComponent()
        .appendingPathComponent("Fixtures").appendingPathComponent(name)
    return Array(try Data(contentsOf: url))
}

/// The bytes a section selects, converted to wire form.
func sectionBytes(_ tree: MessageTree, _ spec: SectionSpec, _ raw: UnsafeRawBufferPointer) -> [UInt8]? {
    guard let content = tree.section(spec, raw) else { return nil }
    switch content {
    case .bytes(let b): return b
    case .raw(let range, let length):
        var out: [UInt8] = []
        var converter = CRLFConverter()
        _ = converter.convert(UnsafeRawBufferPointer(rebasing: raw[range]), into: &out)
        XCTAssertEqual(out.count, length, "crlfLength of \(spec)")
        return out
    }
}

func sectionString(_ tree: MessageTree, _ spec: SectionSpec, _ raw: UnsafeRawBufferPointer) -> String? {
    sectionBytes(tree, spec, raw).map { String(decoding: $0, as: UTF8.self) }
}

/// Renders BODY/BODYSTRUCTURE/ENVELOPE the way Dovecot's imap-bodystructure.c does
/// (every string quoted, NIL for nil), so Dovecot's own test vectors can be compared.
enum DovecotFormat {
    static func quoted(_ b: [UInt8]) -> String {
        var s = "\""
        for c in String(decoding: b, as: UTF8.self) {
            if c == "\"" || c == "\\" { s.append("\\") }
            s.append(c)
        }
        return s + "\""
    }
    static func nstring(_ b: [UInt8]?) -> String { b.map(quoted) ?? "NIL" }
    static func params(_ p: [(String, [UInt8])]) -> String {
        p.isEmpty ? "NIL" : "(" + p.map { quoted(Array($0.0.utf8)) + " " + quoted($0.1) }.joined(separator: " ") + ")"
    }
    static func addresses(_ a: [Address]) -> String {
        a.isEmpty
            ? "NIL"
            : "("
                + a.map {
                    "("
                        + [nstring($0.name), nstring($0.adl), nstring($0.mailbox), nstring($0.host)].joined(
                            separator: " ")
                        + ")"
                }.joined() + ")"
    }
    static func envelope(_ e: Envelope) -> String {
        [
            nstring(e.date), nstring(e.subject), addresses(e.from), addresses(e.sender), addresses(e.replyTo),
            addresses(e.to), addresses(e.cc), addresses(e.bcc), nstring(e.inReplyTo), nstring(e.messageID),
        ].joined(separator: " ")
    }
    static func ext(_ x: BodyStructure.Extension) -> String {
        let disposition = x.disposition.map { "(" + quoted($0.type) + " " + params($0.parameters) + ")" } ?? "NIL"
        let language = x.language.map { "(" + $0.map(quoted).joined(separator: " ") + ")" } ?? "NIL"
        return disposition + " " + language + " " + nstring(x.location)
    }
    static func body(_ b: BodyStructure, extensible: Bool) -> String {
        switch b {
        case .multipart(let m):
            var s = m.parts.map { "(" + body($0, extensible: extensible) + ")" }.joined() + " " + quoted(m.subtype)
            if extensible { s += " " + params(m.parameters) + " " + ext(m.ext) }
            return s
        case .singlepart(let p):
            var s: String
            switch p.kind {
            case .basic(let type, let subtype): s = quoted(type) + " " + quoted(subtype)
            case .text(let subtype, _): s = quoted(p.mediaType ?? Array("text".utf8)) + " " + quoted(subtype)
            case .message(let subtype, _, _, _): s = "\"message\" " + quoted(subtype)
            }
            s += " " + params(p.fields.parameters) + " " + nstring(p.fields.id) + " " + nstring(p.fields.description)
            s += " " + quoted(Array(p.fields.encoding.utf8)) + " \(p.fields.octets)"
            switch p.kind {
            case .basic: break
            case .text(_, let lines): s += " \(lines)"
            case .message(_, let env, let inner, let lines):
                s += " (" + envelope(env) + ") (" + body(inner, extensible: extensible) + ") \(lines)"
            }
            if extensible { s += " " + nstring(p.md5) + " " + ext(p.ext) }
            return s
        }
    }
}
