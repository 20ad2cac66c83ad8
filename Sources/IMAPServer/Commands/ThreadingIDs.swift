import MailMessage
import Synchronization

// Threading's inputs as small integers. Message identifiers and base subjects are
// interned once per folder (the header cache keeps a table beside its entries), so a
// THREAD of a cached folder hashes no identifier and copies no byte array: its
// messages are plain values, and its containers are found by array index.
extension Threading {
    /// What threading derives from one message's Subject, Message-ID, In-Reply-To and
    /// References, as numbers of an `IDTable`. A plain value: copying it retains
    /// nothing.
    struct Keys: Sendable, Equatable {
        /// The first identifier of Message-ID; -1 when there is none.
        var ownID: Int32
        /// The identifiers of References, or else the first of In-Reply-To (RFC 5256
        /// §2.2 step 1): `IDTable.referenceList[referenceStart ..< +referenceCount]`.
        var referenceStart: Int32
        var referenceCount: Int32
        /// RFC 5256 §2.1 base subject; a missing Subject is the empty one.
        var subject: Int32
        /// The base subject had Re:, Fwd: and the like removed.
        var replyOrForward: Bool

        /// Roughly what the keys take (a THREAD's memory budget counts them in place
        /// of the texts they were derived from).
        var estimatedBytes: Int { 24 + 4 * Int(referenceCount) }
    }

    /// Interned identifiers and base subjects, and the reference lists of the keys
    /// made here. Only grows: a number, once given, keeps its meaning in this table
    /// and in every later copy of it with the same `generation`.
    struct IDTable: Sendable {
        /// Identifiers by number (what the header cache's thread file keeps).
        private(set) var ids: [[UInt8]] = []
        /// Base subjects by number (ORDEREDSUBJECT and SORT SUBJECT compare them).
        private(set) var subjects: [[UInt8]] = []
        private(set) var referenceList: [Int32] = []
        /// Numbers by bytes, for interning. A table read from a thread file has none
        /// until something is interned in it: a THREAD only reads numbers.
        private var idNumbers: [ByteKey: Int32] = [:]
        private var subjectNumbers: [ByteKey: Int32] = [:]
        private var indexed = true
        /// The bytes of every identifier and subject held.
        private var textBytes = 0
        /// Tells tables apart that were started separately: numbers of one mean
        /// nothing in another.
        let generation: UInt64

        private static let generations = Atomic<UInt64>(0)

        init() {
            generation = Self.generations.add(1, ordering: .relaxed).newValue
        }

        /// A table as a thread file kept it (checked by the caller: every reference
        /// below `ids.count`).
        init(ids: [[UInt8]], subjects: [[UInt8]], referenceList: [Int32]) {
            self.init()
            self.ids = ids
            self.subjects = subjects
            self.referenceList = referenceList
            textBytes = ids.reduce(0) { $0 + $1.count } + subjects.reduce(0) { $0 + $1.count }
            indexed = false
        }

        /// Room for about `messages` more messages' keys, so that loading a large
        /// cache file does not rehash every identifier each time a table doubles.
        mutating func reserveCapacity(messages: Int) {
            ids.reserveCapacity(ids.count + 2 * messages)
            idNumbers.reserveCapacity(ids.count + 2 * messages)
            subjectNumbers.reserveCapacity(subjects.count + messages)
            referenceList.reserveCapacity(referenceList.count + 2 * messages)
        }

        /// Roughly what the table takes in memory: its texts, their array and
        /// dictionary slots, the reference list.
        var estimatedBytes: Int { textBytes + 64 * (ids.count + subjects.count) + 4 * referenceList.count }

        /// Identifiers interned so far: every `ownID` and reference is below this.
        var idCount: Int { ids.count }

        /// The keys of one message's fields (as the header cache or a message file
        /// gives them), interning what is new.
        mutating func keys(subject: String?, messageID: [UInt8]?, inReplyTo: [UInt8]?, references: [UInt8]?)
            -> Keys
        {
            index()
            let own = messageID.flatMap { Threading.messageIDs($0, limit: 1).first }.map { intern(id: $0) } ?? -1
            var ids = references.map { Threading.messageIDs($0) } ?? []
            if ids.isEmpty, let first = inReplyTo.flatMap({ Threading.messageIDs($0, limit: 1).first }) {
                ids = [first]
            }
            let start = Int32(referenceList.count)
            for id in ids { referenceList.append(intern(id: id)) }
            let (base, replyOrForward) = BaseSubject.extract(subject ?? "")
            return Keys(
                ownID: own, referenceStart: start, referenceCount: Int32(ids.count), subject: intern(subject: base),
                replyOrForward: replyOrForward)
        }

        /// The keys of header fields as SORT and THREAD keep them (SortFields.trim).
        mutating func keys(of headers: SortHeaders) -> Keys {
            keys(
                subject: headers.subject, messageID: headers.messageID, inReplyTo: headers.inReplyTo,
                references: headers.references)
        }

        /// The references of `keys`, made by this table or a copy with its generation.
        func references(_ keys: Keys) -> ArraySlice<Int32> {
            let start = Int(keys.referenceStart)
            return referenceList[start..<start + Int(keys.referenceCount)]
        }

        private mutating func intern(id: [UInt8]) -> Int32 {
            Self.intern(id, &idNumbers, &ids, &textBytes)
        }

        private mutating func intern(subject: [UInt8]) -> Int32 {
            Self.intern(subject, &subjectNumbers, &subjects, &textBytes)
        }

        /// The number of `text` in `numbers`, or the next one, given to it now.
        private static func intern(
            _ text: [UInt8], _ numbers: inout [ByteKey: Int32], _ texts: inout [[UInt8]], _ textBytes: inout Int
        ) -> Int32 {
            let key = ByteKey(text)
            if let number = numbers[key] { return number }
            let number = Int32(texts.count)
            numbers[key] = number
            texts.append(text)
            textBytes += text.count
            return number
        }

        /// The dictionaries of a table read from a thread file, built before the
        /// first new message is interned.
        private mutating func index() {
            guard !indexed else { return }
            indexed = true
            idNumbers.reserveCapacity(ids.count)
            for (number, id) in ids.enumerated() { idNumbers[ByteKey(id)] = Int32(number) }
            subjectNumbers.reserveCapacity(subjects.count)
            for (number, subject) in subjects.enumerated() { subjectNumbers[ByteKey(subject)] = Int32(number) }
        }
    }
}
