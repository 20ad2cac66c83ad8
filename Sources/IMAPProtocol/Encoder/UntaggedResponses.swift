import NIOCore

/// Untagged server data (RFC 9051 §7.2–§7.5) other than the mailbox listings
/// (MailboxResponses.swift) and FETCH (FetchItems.swift).
extension ResponseEncoder {

    /// `"*" SP (resp-cond-state / resp-cond-bye / mailbox-data / message-data /
    /// capability-data / enable-data / …) CRLF`. Writes nothing at all for a response
    /// that has no valid wire form (a VANISHED with an empty set).
    func writeUntagged(_ response: UntaggedResponse, into buffer: inout ByteBuffer) {
        switch response {
        case .status(let status, code: let code, text: let text):
            writeUntaggedStatus(status, code: code, text: text, into: &buffer)
            return
        case .capability(let capabilities):
            // `capability-data = "CAPABILITY" *(SP capability) SP "IMAP4rev2" *(SP capability)`
            buffer.writeStaticString("* CAPABILITY")
            writeAtoms(capabilities, into: &buffer)
        case .enabled(let capabilities):
            // RFC 5161 `enable-data = "ENABLED" *(SP capability)`
            buffer.writeStaticString("* ENABLED")
            writeAtoms(capabilities, into: &buffer)
        case .id(let parameters):
            buffer.writeStaticString("* ID ")
            writeIDParameters(parameters, into: &buffer)
        case .flags(let flags):
            buffer.writeStaticString("* FLAGS ")
            writeFlagList(flags, into: &buffer)
        case .exists(let count):
            buffer.writeStaticString("* ")
            writeNumber(count, into: &buffer)
            buffer.writeStaticString(" EXISTS")
        case .recent(let count):
            buffer.writeStaticString("* ")
            writeNumber(count, into: &buffer)
            buffer.writeStaticString(" RECENT")
        case .expunge(let number):
            buffer.writeStaticString("* ")
            writeNumber(number.rawValue, into: &buffer)
            buffer.writeStaticString(" EXPUNGE")
        case .vanished(let earlier, let uids):
            // RFC 7162 §3.2.10 `"VANISHED" [SP "(EARLIER)"] SP known-uids`: there is no
            // empty form, and an empty VANISHED tells the client nothing.
            guard !uids.isEmpty else { return }
            buffer.writeStaticString(earlier ? "* VANISHED (EARLIER) " : "* VANISHED ")
            writeSequenceSet(uids, into: &buffer)
        case .list(let entry):
            buffer.writeStaticString("* LIST ")
            writeMailboxList(entry, into: &buffer)
        case .lsub(let entry):
            buffer.writeStaticString("* LSUB ")
            writeMailboxList(entry, into: &buffer)
        case .namespace(let namespaces):
            buffer.writeStaticString("* NAMESPACE ")
            writeNamespaces(namespaces, into: &buffer)
        case .quota(let root, let resources):
            buffer.writeStaticString("* QUOTA ")
            writeQuota(root: root, resources, into: &buffer)
        case .quotaRoot(let mailbox, let roots):
            buffer.writeStaticString("* QUOTAROOT ")
            writeQuotaRoot(mailbox: mailbox, roots: roots, into: &buffer)
        case .mailboxStatus(let mailbox, let attributes):
            buffer.writeStaticString("* STATUS ")
            writeStatusData(mailbox: mailbox, attributes, into: &buffer)
        case .search(let numbers, let modSeq):
            writeSearch(numbers, modSeq: modSeq, into: &buffer)
        case .esearch(let result):
            writeESearch(result, into: &buffer)
        case .sort(let numbers):
            writeSort(numbers, into: &buffer)
        case .thread(let threads):
            writeThread(threads, into: &buffer)
        case .fetch(let number, let items):
            writeFetchStart(number, into: &buffer)
            var first = true
            for item in items {
                writeFetchItem(item, isFirst: first, into: &buffer)
                first = false
            }
            writeFetchEnd(into: &buffer)
            return
        }
        writeCRLF(into: &buffer)
    }

    /// RFC 2971 `id-response = "ID" SP id-params-list`,
    /// `id-params-list = "(" *(string SP nstring) ")" / nil`. An empty list is sent as
    /// NIL, as Dovecot does.
    private func writeIDParameters(_ parameters: [(key: String, value: String?)]?, into buffer: inout ByteBuffer) {
        guard let parameters, !parameters.isEmpty else {
            buffer.writeStaticString("NIL")
            return
        }
        buffer.writeInteger(EncoderByte.openParen)
        for (index, parameter) in parameters.enumerated() {
            if index > 0 { writeSpace(into: &buffer) }
            writeString(parameter.key, into: &buffer)
            writeSpace(into: &buffer)
            if let value = parameter.value {
                writeString(value, into: &buffer)
            } else {
                buffer.writeStaticString("NIL")
            }
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }

    /// IMAP4rev1 `"SEARCH" *(SP nz-number)` with RFC 7162's `SP "(" "MODSEQ" SP
    /// mod-sequence-value ")"` after the numbers. An empty result is a bare `* SEARCH`
    /// (RFC 7162 §3.1.5: no MODSEQ when nothing matched).
    private func writeSearch(_ numbers: [UInt32], modSeq: UInt64?, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("* SEARCH")
        for number in numbers {
            writeSpace(into: &buffer)
            writeNumber(number, into: &buffer)
        }
        if let modSeq, !numbers.isEmpty {
            buffer.writeStaticString(" (MODSEQ ")
            writeNumber(modSeq, into: &buffer)
            buffer.writeInteger(EncoderByte.closeParen)
        }
    }

    /// RFC 9051 §7.3.4 / RFC 4731:
    /// `esearch-response = "ESEARCH" [search-correlator] [SP "UID"] *(SP search-return-data)`,
    /// `search-correlator = SP "(" "TAG" SP tag-string ")"`. Order MIN MAX COUNT ALL,
    /// then RFC 7162 MODSEQ; absent items are left out, and so is ALL when it is empty
    /// (RFC 4731 §3.1: ALL is omitted when nothing matched).
    private func writeESearch(_ result: ESearchResponse, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("* ESEARCH")
        if let tag = result.tag {
            buffer.writeStaticString(" (TAG ")
            writeString(tag, into: &buffer)
            buffer.writeInteger(EncoderByte.closeParen)
        }
        if result.uid { buffer.writeStaticString(" UID") }
        if let min = result.min {
            buffer.writeStaticString(" MIN ")
            writeNumber(min, into: &buffer)
        }
        if let max = result.max {
            buffer.writeStaticString(" MAX ")
            writeNumber(max, into: &buffer)
        }
        if let count = result.count {
            buffer.writeStaticString(" COUNT ")
            writeNumber(count, into: &buffer)
        }
        if let all = result.all, !all.isEmpty {
            buffer.writeStaticString(" ALL ")
            writeSequenceSet(all, into: &buffer)
        }
        if let modSeq = result.modSeq {
            buffer.writeStaticString(" MODSEQ ")
            writeNumber(modSeq, into: &buffer)
        }
        if let partial = result.partial {
            // RFC 9394 §3.1: `"PARTIAL" SP "(" partial-range SP (sequence-set / "NIL") ")"`.
            let sign = partial.range.fromEnd ? "-" : ""
            buffer.writeString(" PARTIAL (\(sign)\(partial.range.first):\(sign)\(partial.range.last) ")
            if partial.numbers.isEmpty {
                buffer.writeStaticString("NIL")
            } else {
                writeSequenceSet(partial.numbers, into: &buffer)
            }
            buffer.writeInteger(EncoderByte.closeParen)
        }
        writeContextUpdate(" ADDTO (", result.addTo, into: &buffer)
        writeContextUpdate(" REMOVEFROM (", result.removeFrom, into: &buffer)
    }

    /// RFC 5267 §4.3 `"(" context-position SP sequence-set *(SP context-position SP
    /// sequence-set) ")"`; nothing when there are no pairs.
    private func writeContextUpdate(
        _ name: StaticString, _ pairs: [(position: UInt32, numbers: [ClosedRange<UInt32>])],
        into buffer: inout ByteBuffer
    ) {
        guard !pairs.isEmpty else { return }
        buffer.writeStaticString(name)
        for (index, pair) in pairs.enumerated() {
            if index > 0 { buffer.writeStaticString(" ") }
            writeNumber(pair.position, into: &buffer)
            buffer.writeStaticString(" ")
            writeSequenceSet(pair.numbers, into: &buffer)
        }
        buffer.writeInteger(EncoderByte.closeParen)
    }
}
