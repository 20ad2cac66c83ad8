import IMAPProtocol

/// RFC 5256 §2.2 THREAD algorithms, pure (unit-tested without a server). Where the RFC
/// leaves room, this does what Dovecot does (lib-storage index-thread-finish.c,
/// imap cmd-thread.c), so both servers thread one spool alike: ties in dates are broken
/// by mailbox order, a missing or unparsable Date: falls back to INTERNALDATE (the
/// caller's `sentDate`), and REFS is Dovecot's REFERENCES without step 5, its threads
/// ordered by their newest message.
///
/// No step recurses: a thread a hundred thousand replies deep is walked with explicit
/// stacks.
enum Threading {
    /// One message to thread, in mailbox order.
    struct Message: Sendable {
        /// What the answer shows: sequence number or UID.
        var number: UInt32
        /// Date: or else INTERNALDATE, seconds since the epoch.
        var sentDate: Int64
        /// Subject, RFC 2047 decoded; nil when absent.
        var subject: String?
        var messageID: [UInt8]?
        var inReplyTo: [UInt8]?
        var references: [UInt8]?
        /// The same fields already taken apart (from the header cache), or nil.
        var keys: Keys?

        init(
            number: UInt32, sentDate: Int64, subject: String? = nil, messageID: String? = nil,
            inReplyTo: String? = nil, references: String? = nil
        ) {
            self.number = number
            self.sentDate = sentDate
            self.subject = subject
            self.messageID = messageID.map { Array($0.utf8) }
            self.inReplyTo = inReplyTo.map { Array($0.utf8) }
            self.references = references.map { Array($0.utf8) }
        }
    }

    /// What threading derives from a message's Subject, Message-ID, In-Reply-To and
    /// References, computed once when the header cache holds the message and kept with
    /// it, so a THREAD of a cached folder parses no identifier and no subject again.
    final class Keys: Sendable {
        /// The first identifier of Message-ID.
        let ownID: ByteKey?
        /// The identifiers of References, or else the first of In-Reply-To (step 1).
        let references: [ByteKey]
        /// RFC 5256 §2.1 base subject; nil when there is no Subject.
        let baseSubject: (base: [UInt8], isReplyOrForward: Bool)?

        init(subject: String?, messageID: [UInt8]?, inReplyTo: [UInt8]?, references: [UInt8]?) {
            ownID = messageID.flatMap { Threading.messageIDs($0, limit: 1).first }.map(ByteKey.init)
            var ids = references.map { Threading.messageIDs($0) } ?? []
            if ids.isEmpty, let first = inReplyTo.flatMap({ Threading.messageIDs($0, limit: 1).first }) {
                ids = [first]
            }
            self.references = ids.map(ByteKey.init)
            baseSubject = subject.map(BaseSubject.extract)
        }

        /// Roughly what the keys take (a THREAD's memory budget counts them in place
        /// of the texts they were derived from).
        var estimatedBytes: Int {
            (ownID?.bytes.count ?? 0) + references.reduce(0) { $0 + $1.bytes.count } + (baseSubject?.base.count ?? 0)
        }
    }

    static func thread(_ messages: [Message], algorithm: ThreadAlgorithm) -> [ThreadNode] {
        switch algorithm {
        case .orderedSubject: return orderedSubject(messages)
        case .references: return references(messages, mergeSubjects: true)
        case .refs: return references(messages, mergeSubjects: false)
        }
    }

    // MARK: ORDEREDSUBJECT

    /// RFC 5256 §2.2 ORDEREDSUBJECT: sorted by base subject then sent date; each run
    /// of one base subject is a thread whose first message is the parent of the
    /// others; threads ordered by their first message's sent date.
    static func orderedSubject(_ messages: [Message]) -> [ThreadNode] {
        let subjects = messages.map { $0.keys?.baseSubject?.base ?? BaseSubject.extract($0.subject ?? "").base }
        let order = messages.indices.sorted { a, b in
            if subjects[a] != subjects[b] { return SortText.less(subjects[a], subjects[b]) }
            if messages[a].sentDate != messages[b].sentDate { return messages[a].sentDate < messages[b].sentDate }
            return a < b
        }
        var threads: [[Int]] = []
        for index in order {
            if let last = threads.last?.last, subjects[last] == subjects[index] {
                threads[threads.count - 1].append(index)
            } else {
                threads.append([index])
            }
        }
        threads.sort { a, b in
            let (x, y) = (a[0], b[0])
            return messages[x].sentDate != messages[y].sentDate ? messages[x].sentDate < messages[y].sentDate : x < y
        }
        var nodes: [ThreadNode] = []
        for thread in threads {
            nodes.append(ThreadNode(messages[thread[0]].number, childCount: thread.count - 1))
            for index in thread.dropFirst() { nodes.append(ThreadNode(messages[index].number)) }
        }
        return nodes
    }

    // MARK: Message-IDs

    /// The message identifiers in a Message-ID, In-Reply-To or References value:
    /// each `<…>` holding an "@", white space inside removed (folding), as Dovecot's
    /// `message_id_get_next` reads them. Compared case-sensitively.
    static func messageIDs(_ value: [UInt8], limit: Int = .max) -> [[UInt8]] {
        var ids: [[UInt8]] = []
        var index = 0
        while index < value.count && ids.count < limit {
            guard value[index] == UInt8(ascii: "<") else {
                index += 1
                continue
            }
            // Scanned first, copied once: the bytes up to ">" (or the next "<"), and
            // whether any of them is folding white space to leave out.
            var hasAt = false
            var hasSpace = false
            var end = index + 1
            while end < value.count, value[end] != UInt8(ascii: ">"), value[end] != UInt8(ascii: "<") {
                let b = value[end]
                if isFoldingSpace(b) { hasSpace = true } else if b == UInt8(ascii: "@") { hasAt = true }
                end += 1
            }
            if end < value.count, value[end] == UInt8(ascii: ">"), hasAt {
                let inside = value[(index + 1)..<end]
                ids.append(hasSpace ? inside.filter { !isFoldingSpace($0) } : Array(inside))
                index = end + 1
            } else {
                index = end
            }
        }
        return ids
    }

    private static func isFoldingSpace(_ b: UInt8) -> Bool {
        b == UInt8(ascii: " ") || b == UInt8(ascii: "\t") || b == UInt8(ascii: "\r") || b == 10
    }
}
