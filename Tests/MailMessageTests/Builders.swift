import IMAPProtocol

@testable import MailMessage

/// Short constructors for expected IMAPProtocol values.
func b(_ s: String) -> [UInt8] { Array(s.utf8) }

func addr(_ name: String?, _ mailbox: String?, _ host: String?, adl: String? = nil) -> Address {
    Address(name: name.map(b), adl: adl.map(b), mailbox: mailbox.map(b), host: host.map(b))
}

func textPart(
    _ subtype: String, params: [(String, String)] = [("charset", "us-ascii")], id: String? = nil,
    description: String? = nil, encoding: String = "7bit", octets: Int, lines: Int, md5: String? = nil,
    ext: BodyStructure.Extension = BodyStructure.Extension()
) -> BodyStructure {
    .singlepart(
        BodyStructure.SinglePart(
            kind: .text(subtype: b(subtype), lines: lines),
            fields: BodyStructure.Fields(
                parameters: params.map { ($0.0, b($0.1)) }, id: id.map(b), description: description.map(b),
                encoding: encoding, octets: octets), md5: md5.map(b), ext: ext))
}

func basicPart(
    _ type: String, _ subtype: String, params: [(String, String)] = [], id: String? = nil,
    encoding: String = "7bit", octets: Int, ext: BodyStructure.Extension = BodyStructure.Extension()
) -> BodyStructure {
    .singlepart(
        BodyStructure.SinglePart(
            kind: .basic(type: b(type), subtype: b(subtype)),
            fields: BodyStructure.Fields(
                parameters: params.map { ($0.0, b($0.1)) }, id: id.map(b), description: nil, encoding: encoding,
                octets: octets), ext: ext))
}

func messagePart(
    envelope: Envelope, body: BodyStructure, octets: Int, lines: Int,
    ext: BodyStructure.Extension = BodyStructure.Extension()
) -> BodyStructure {
    .singlepart(
        BodyStructure.SinglePart(
            kind: .message(subtype: b("rfc822"), envelope: envelope, body: body, lines: lines),
            fields: BodyStructure.Fields(parameters: [], id: nil, description: nil, encoding: "7bit", octets: octets),
            ext: ext))
}

func multipart(
    _ subtype: String, _ parts: [BodyStructure], params: [(String, String)] = [],
    ext: BodyStructure.Extension = BodyStructure.Extension()
) -> BodyStructure {
    .multipart(
        BodyStructure.MultiPart(parts: parts, subtype: b(subtype), parameters: params.map { ($0.0, b($0.1)) }, ext: ext)
    )
}

func section(_ part: [Int], _ text: SectionText? = nil) -> SectionSpec { SectionSpec(part: part, text: text) }
