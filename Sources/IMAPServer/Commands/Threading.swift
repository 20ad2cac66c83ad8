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
    /// One message to thread, in mailbox order, with its header fields as texts
    /// (tests, and messages the header cache did not have).
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

    /// One message as the algorithms take it: its keys are numbers of an `IDTable`.
    struct Item: Sendable {
        var number: UInt32
        var sentDate: Int64
        var keys: Keys
    }

    /// Threads messages given as texts: their keys interned in a table of their own.
    static func thread(_ messages: [Message], algorithm: ThreadAlgorithm) -> [ThreadNode] {
        var ids = IDTable()
        let items = messages.map { message in
            Item(
                number: message.number, sentDate: message.sentDate,
                keys: ids.keys(
                    subject: message.subject, messageID: message.messageID, inReplyTo: message.inReplyTo,
                    references: message.references))
        }
        return thread(items, ids: ids, algorithm: algorithm)
    }

    /// Threads `messages`, whose keys are numbers of `ids`.
    static func thread(_ messages: [Item], ids: IDTable, algorithm: ThreadAlgorithm) -> [ThreadNode] {
        switch algorithm {
        case .orderedSubject: return orderedSubject(messages, ids: ids)
        case .references: return references(messages, ids: ids, mergeSubjects: true)
        case .refs: return references(messages, ids: ids, mergeSubjects: false)
        }
    }

    // MARK: ORDEREDSUBJECT

    /// RFC 5256 §2.2 ORDEREDSUBJECT: sorted by base subject then sent date; each run
    /// of one base subject is a thread whose first message is the parent of the
    /// others; threads ordered by their first message's sent date.
    static func orderedSubject(_ messages: [Item], ids: IDTable) -> [ThreadNode] {
        // Each base subject's rank among those present: the sort compares numbers.
        let rank = subjectRanks(messages, ids: ids)
        let subjects = messages.map { rank[Int($0.keys.subject)] }
        let order = messages.indices.sorted { a, b in
            if subjects[a] != subjects[b] { return subjects[a] < subjects[b] }
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

    /// Per subject number, the rank of its base subject in `SortText` order among the
    /// subjects of `messages` (equal subjects have one number, so one rank).
    private static func subjectRanks(_ messages: [Item], ids: IDTable) -> [Int32] {
        var present = [Bool](repeating: false, count: ids.subjects.count)
        for message in messages { present[Int(message.keys.subject)] = true }
        let sorted = present.indices.filter { present[$0] }.sorted { SortText.less(ids.subjects[$0], ids.subjects[$1]) }
        var rank = [Int32](repeating: -1, count: ids.subjects.count)
        for (position, subject) in sorted.enumerated() { rank[subject] = Int32(position) }
        return rank
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
