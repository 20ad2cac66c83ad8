import IMAPProtocol
import MaildirStore
import NIOCore

// FetchJob's FETCH that the message records answer alone (UID, FLAGS, MODSEQ): the
// messages read from the session's view as they are written, and the responses
// written a step at a time (RecordFetchWriter).
extension FetchJob {
    /// The messages of a FETCH in response order: a list, or, for a FETCH the records
    /// answer alone, read from the session's view as each response is written (a
    /// `FETCH 1:*` of 100,000 messages then builds no list: 7 MB of new memory, a
    /// tenth of the command's time right after a restart).
    enum Messages: Sendable {
        case listed([Message])
        case fromView(MailboxView, [SequenceNumber], recent: RecentUIDs?)

        var count: Int {
            switch self {
            case .listed(let messages): return messages.count
            case .fromView(_, let numbers, _): return numbers.count
            }
        }

        subscript(index: Int) -> Message {
            switch self {
            case .listed(let messages): return messages[index]
            case .fromView(let view, let numbers, let recent): return Self.message(numbers[index], view, recent)
            }
        }

        /// Message `number` of the view, \Recent marked from `recent`.
        static func message(_ number: SequenceNumber, _ view: MailboxView, _ recent: RecentUIDs?) -> Message {
            var message = view.fetchMessage(at: number)
            if let recent { message.recent = recent.contains(message.uid) }
            return message
        }

        var highestModSeq: ModSeq? {
            switch self {
            case .listed(let messages): return messages.lazy.map(\.modSeq).max()
            case .fromView(let view, let numbers, _): return numbers.lazy.map { view.fetchMessage(at: $0).modSeq }.max()
            }
        }

        /// The list (a FETCH that reads files or completes details always has one).
        var listed: [Message] {
            switch self {
            case .listed(let messages): return messages
            case .fromView: return (0..<count).map { self[$0] }
            }
        }
    }

    /// A FETCH the records answer alone (FLAGS, UID, MODSEQ: no file, no detail to
    /// complete): each response encoded straight into the step's buffer, with local
    /// copies of what the general loop reads from the job per message. That loop's
    /// per-message output and property accesses were half of a `UID FETCH 1:* (FLAGS)`
    /// of 100,000 messages. Returns the responses written.
    func encodeRecordItems(into out: inout ByteBuffer) -> Int {
        switch messages {
        case .listed(let list):
            return encodeRecordItems(into: &out) { list[$0] }
        case .fromView(let view, let numbers, let recent):
            // The view taken out of the enum once, not once per message.
            return encodeRecordItems(into: &out) { Messages.message(numbers[$0], view, recent) }
        }
    }

    private static func writeRecordMessage(
        _ message: Message, _ items: [FetchAttribute], _ encoder: ResponseEncoder, _ flags: inout FlagBytesCache,
        into out: inout ByteBuffer
    ) {
        encoder.writeFetchStart(message.sequenceNumber, into: &out)
        for (position, item) in items.enumerated() {
            writeRecordItem(item, message, isFirst: position == 0, encoder, &flags, into: &out)
        }
        encoder.writeFetchEnd(into: &out)
    }

    /// A step's responses written into one region of the buffer (RecordFetchWriter), the
    /// `index`th message given by `message`.
    private func encodeRecordItems(into out: inout ByteBuffer, _ message: (Int) -> Message) -> Int {
        let items = plan.attributes
        // The items as plain values: FetchAttribute has payloads, and copying one per
        // message and item (a switch, `contains`) cost a tenth of the command.
        let kinds = items.map(RawItem.init)
        let fixedBound = RecordFetchWriter.startBound + RecordFetchWriter.endBound + kinds.reduce(0) { $0 + $1.bound }
        let wantsFlags = kinds.contains(.flags)
        var flags = flagBytes
        defer { flagBytes = flags }
        var index = next
        defer { next = index }
        let start = index
        let encoder = self.encoder
        let count = messages.count
        out.writeRecordFetches(capacity: Self.stepBytes) { writer in
            while index < count {
                let message = message(index)
                let flagItem = wantsFlags ? flags.item(message.flags, recent: message.recent, encoder: encoder) : []
                guard writer.fits(fixedBound + flagItem.count) else { break }
                index += 1
                writer.start(message.sequenceNumber)
                var isFirst = true
                for kind in kinds {
                    switch kind {
                    case .uid: writer.uid(message.uid.wire, isFirst: isFirst)
                    case .flags: writer.encoded(flagItem, isFirst: isFirst)
                    case .modSeq: writer.modSeq(message.modSeq.rawValue, isFirst: isFirst)
                    }
                    isFirst = false
                }
                writer.end()
            }
        }
        if index == start && index < count {
            // One response larger than a step (a FLAGS item of many long keywords).
            Self.writeRecordMessage(message(index), items, encoder, &flags, into: &out)
            index += 1
        }
        return index - start
    }

    /// An item RecordFetchWriter writes: exactly those FetchPlan.isRecordOnly admits.
    private enum RawItem {
        case uid, flags, modSeq

        init(_ attribute: FetchAttribute) {
            switch attribute {
            case .uid: self = .uid
            case .flags: self = .flags
            case .modSeq: self = .modSeq
            default: preconditionFailure("not a raw record item")
            }
        }

        /// The most bytes written for it (a FLAGS item: its leading space, the item
        /// itself being known per message).
        var bound: Int {
            switch self {
            case .uid: return RecordFetchWriter.uidBound
            case .flags: return 1
            case .modSeq: return RecordFetchWriter.modSeqBound
            }
        }
    }
}
