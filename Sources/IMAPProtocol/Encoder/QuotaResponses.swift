import NIOCore

/// RFC 9208 §7: `quota-response = "QUOTA" SP quota-root-name SP quota-list`,
/// `quota-list = "(" quota-resource *(SP quota-resource) ")"`,
/// `quota-resource = resource-name SP resource-usage SP resource-limit`;
/// `quotaroot-response = "QUOTAROOT" SP mailbox *(SP quota-root-name)`.
extension ResponseEncoder {
    func writeQuota(root: String, _ resources: [QuotaResource], into buffer: inout ByteBuffer) {
        writeAString(root, into: &buffer)
        buffer.writeStaticString(" (")
        for (index, resource) in resources.enumerated() {
            if index > 0 { writeSpace(into: &buffer) }
            if !writeAtomIfValid(resource.name, into: &buffer) { writeString(resource.name, into: &buffer) }
            writeSpace(into: &buffer)
            writeNumber(resource.usage, into: &buffer)
            writeSpace(into: &buffer)
            writeNumber(resource.limit, into: &buffer)
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }

    func writeQuotaRoot(mailbox: MailboxName, roots: [String], into buffer: inout ByteBuffer) {
        writeAString(mailbox.rawValue, into: &buffer)
        for root in roots {
            writeSpace(into: &buffer)
            writeAString(root, into: &buffer)
        }
    }
}
