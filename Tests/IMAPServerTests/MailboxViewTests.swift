import IMAPProtocol
import Logging
import MaildirStore
import XCTest

@testable import IMAPServer

/// MailboxView keeps the folder snapshot's array shared and stores only what diverges;
/// whatever it stores, it must answer exactly as a plain array of records would.
final class MailboxViewTests: XCTestCase {
    static func record(_ uid: UInt32, seen: Bool = false) -> MessageRecord {
        MessageRecord(
            uid: StoreUID(uid), flags: MessageFlags(system: seen ? [.seen] : []), internalDate: 0,
            physicalSize: 10, virtualSize: 10, baseName: "m\(uid)")
    }

    static func view(_ uids: ClosedRange<UInt32>) -> MailboxView {
        MailboxView(
            snapshot: FolderSnapshot(
                uidValidity: StoreUIDValidity(1), uidNext: StoreUID(uids.upperBound + 1),
                messages: uids.map { record($0) }, keywords: [], canCreateKeywords: true))
    }

    /// The view against a plain array model, through random deliveries, flag changes
    /// (from other sessions and from the session's own STORE) and expunges, reported
    /// at once or held back (as during FETCH, RFC 9051 §7.5.1).
    func testViewMatchesAPlainArrayModel() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<40 {
            var view = Self.view(1...UInt32(50 + round))
            var model = view.records
            var heldBack = Set<StoreUID>()
            var nextUID = UInt32(51 + round)
            for step in 0..<300 {
                let context = "round \(round) step \(step)"
                switch Int.random(in: 0..<5, using: &generator) {
                case 0:
                    let added = (0..<Int.random(in: 1...3, using: &generator)).map { _ in
                        defer { nextUID += 1 }
                        return Self.record(nextUID)
                    }
                    let update = view.apply([.added(added)], allowExpunge: true)
                    model.removeAll { heldBack.contains($0.uid) }
                    heldBack = []
                    model += added
                    XCTAssertEqual(update.exists, model.count, context)
                case 1, 2:
                    guard let victim = model.randomElement(using: &generator) else { continue }
                    var flags = victim.flags
                    if flags.system.contains(.seen) { flags.system.remove(.seen) } else { flags.system.insert(.seen) }
                    let update = view.apply([.flagsChanged([change(victim.uid, flags)])], allowExpunge: false)
                    let i = model.firstIndex { $0.uid == victim.uid }!
                    model[i].flags = flags
                    model[i].modSeq = ModSeq(1)
                    XCTAssertEqual(update.flagChanges.map(\.sequenceNumber), [seq(i + 1)], context)
                case 3:
                    guard let victim = model.randomElement(using: &generator) else { continue }
                    let n = view.sequenceNumber(of: victim.uid)!
                    var flags = victim.flags
                    flags.keywords = flags.keywords.isEmpty ? ["k"] : []
                    view.setFlags(change(victim.uid, flags), forSequenceNumber: n)
                    model[Int(n.rawValue) - 1].flags = flags
                    model[Int(n.rawValue) - 1].modSeq = ModSeq(1)
                default:
                    let victims = Array(model.shuffled(using: &generator).prefix(2)).map(\.uid).sorted()
                    let allow = Bool.random(using: &generator)
                    let update = view.apply([.expunged(victims, modSeq: ModSeq(1))], allowExpunge: allow)
                    heldBack.formUnion(victims)
                    if allow {
                        var expected: [SequenceNumber] = []
                        var kept: [MessageRecord] = []
                        for r in model {
                            if heldBack.contains(r.uid) { expected.append(seq(kept.count + 1)) } else { kept.append(r) }
                        }
                        XCTAssertEqual(update.expunged, expected, context)
                        model = kept
                        heldBack = []
                    }
                }
                XCTAssertEqual(view.records, model, context)
                XCTAssertEqual(view.count, model.count, context)
                XCTAssertEqual(view.lastUID, model.last?.uid, context)
                for (i, r) in model.enumerated() {
                    XCTAssertEqual(view.record(at: seq(i + 1)), r, context)
                    XCTAssertEqual(view.sequenceNumber(of: r.uid), seq(i + 1), context)
                }
                XCTAssertNil(view.sequenceNumber(of: StoreUID(nextUID)), context)
            }
        }
    }

    /// Many sessions on one folder: a delivery appended to each view leaves the
    /// selected snapshot's array shared, not copied per session.
    /// UID sets resolve as over a plain array once the view holds delivered messages
    /// and flag overrides (resolution reads UIDs by index, never the rebuilt array).
    func testUIDSetsResolveOverDeliveredAndOverriddenMessages() {
        let odd = (0..<40).map { Self.record(UInt32(1 + 3 * $0)) }  // UIDs 1, 4, …, 118
        var view = MailboxView(
            snapshot: FolderSnapshot(
                uidValidity: StoreUIDValidity(1), uidNext: StoreUID(119), messages: odd, keywords: [],
                canCreateKeywords: true))
        _ = view.apply([.added([Self.record(200), Self.record(205)])], allowExpunge: true)
        _ = view.apply([.flagsChanged([change(StoreUID(7), MessageFlags(system: [.seen]))])], allowExpunge: true)
        let model = view.records.map(\.uid.rawValue)
        XCTAssertEqual(model.count, 42)
        func range(_ a: UInt32, _ b: UInt32) -> SequenceRange<UID> { SequenceRange(.number(UID(a)), .number(UID(b))) }
        let sets: [[SequenceRange<UID>]] = [
            [range(1, 1)], [range(2, 3)], [range(5, 20)], [range(100, 300)], [range(118, 200)],
            [range(201, 204)], [range(206, 400)], [SequenceRange(.number(UID(150)), .star)],
            [range(1, 4), range(205, 205)],
        ]
        for ranges in sets {
            let resolved = view.resolve(.uids(.ranges(ranges)), saved: [])?.map { model[MailboxView.index(of: $0)] }
            let expected = model.filter { uid in
                ranges.contains { $0.resolved(largest: 205).contains(uid) }
            }
            XCTAssertEqual(resolved, expected, "\(ranges)")
        }
    }

    func testDeliveryKeepsTheSnapshotShared() {
        let messages = (1...1000).map { Self.record(UInt32($0)) }
        var view = MailboxView(
            snapshot: FolderSnapshot(
                uidValidity: StoreUIDValidity(1), uidNext: StoreUID(1001), messages: messages, keywords: [],
                canCreateKeywords: true))
        _ = view.apply([.added([Self.record(1001)])], allowExpunge: true)
        _ = view.apply([.flagsChanged([change(StoreUID(5), MessageFlags(system: [.seen]))])], allowExpunge: true)
        XCTAssertEqual(view.count, 1001)
        XCTAssertEqual(view.record(at: seq(5)).flags.system, [.seen])
        XCTAssertEqual(messages[4].flags.system, [], "the shared snapshot is never written")
        XCTAssertTrue(view.sharesStorage(with: messages))
    }
}

/// Issue 11 §5, issue 18 §4: the inbox gathers every change since the last report, so
/// one batch can hold a delivery and another session's expunge of it. The responses the
/// session writes for a batch (in `reportUpdates`' order: EXPUNGE, EXISTS, FETCH) must
/// only name sequence numbers the client was told of.
final class MailboxViewBatchTests: XCTestCase {
    static let view = MailboxViewTests.view
    static let record = MailboxViewTests.record

    /// The lines `reportUpdates` writes for an update, in its order.
    static func wire(_ update: MailboxView.Update) -> [String] {
        update.expunged.map { "* \($0) EXPUNGE" } + (update.exists.map { ["* \($0) EXISTS"] } ?? [])
            + update.flagChanges.map { "* \($0.sequenceNumber) FETCH (UID \($0.record.uid.rawValue) FLAGS ())" }
    }

    /// The report issue 11 saw: a client that knew 3 messages got `* 1 EXPUNGE` five
    /// times, then `* 0 EXISTS`.
    func testDeliveredAndExpungedInOneBatchIsNeverMentioned() {
        var view = Self.view(1...3)
        var client = UntaggedModel(count: 3)
        let update = view.apply(
            [
                .added([Self.record(4, false), Self.record(5, false)]),
                .expunged((1...5).map { StoreUID($0) }, modSeq: ModSeq(1)),
            ],
            allowExpunge: true)
        client.read(Self.wire(update))
        XCTAssertEqual(Self.wire(update), ["* 1 EXPUNGE", "* 1 EXPUNGE", "* 1 EXPUNGE"])
        XCTAssertEqual(client.violations, [])
        XCTAssertEqual(view.count, 0)
    }

    func testSurvivorsOfABatchComeAfterTheExpungesOfKnownMessages() {
        var view = Self.view(1...3)
        var client = UntaggedModel(count: 3)
        let update = view.apply(
            [
                .added([Self.record(4, false), Self.record(5, false)]),
                .flagsChanged([change(StoreUID(4), MessageFlags(system: [.seen])), change(StoreUID(5), MessageFlags())]
                ),
                .expunged([StoreUID(1), StoreUID(4)], modSeq: ModSeq(1)),
                .flagsChanged([change(StoreUID(5), MessageFlags(system: [.seen]))]),
            ], allowExpunge: true)
        client.read(Self.wire(update))
        XCTAssertEqual(Self.wire(update), ["* 1 EXPUNGE", "* 3 EXISTS", "* 3 FETCH (UID 5 FLAGS ())"])
        XCTAssertEqual(client.violations, [])
        XCTAssertEqual(view.records.map(\.uid.rawValue), [2, 3, 5])
        XCTAssertEqual(view.record(at: seq(3)).flags.system, [.seen])
    }

    /// During FETCH, STORE and SEARCH no EXPUNGE may be sent (§7.5.1): a message the
    /// client never heard of is still dropped, known ones wait.
    func testWithoutExpungesANewMessageGoneAgainLeavesNoTrace() {
        var view = Self.view(1...3)
        var client = UntaggedModel(count: 3)
        let held = view.apply(
            [.added([Self.record(4, false)]), .expunged([StoreUID(2), StoreUID(4)], modSeq: ModSeq(1))],
            allowExpunge: false)
        client.read(Self.wire(held))
        XCTAssertEqual(Self.wire(held), [])
        XCTAssertEqual(view.count, 3)
        XCTAssertTrue(view.isExpunged(StoreUID(2)))
        let later = view.apply([.added([Self.record(5, false)])], allowExpunge: true)
        client.read(Self.wire(later))
        XCTAssertEqual(Self.wire(later), ["* 2 EXPUNGE", "* 3 EXISTS"])
        XCTAssertEqual(client.violations, [])
        XCTAssertEqual(view.records.map(\.uid.rawValue), [1, 3, 5])
    }

    /// Messages told in an earlier report are expunged normally.
    func testMessagesToldEarlierAreExpungedByNumber() {
        var view = Self.view(1...2)
        var client = UntaggedModel(count: 2)
        client.read(Self.wire(view.apply([.added([Self.record(3, false)])], allowExpunge: true)))
        let update = view.apply(
            [.expunged([StoreUID(3)], modSeq: ModSeq(1)), .added([Self.record(4, false)])], allowExpunge: true)
        client.read(Self.wire(update))
        XCTAssertEqual(Self.wire(update), ["* 3 EXPUNGE", "* 3 EXISTS"])
        XCTAssertEqual(client.violations, [])
    }
}

/// Issue 11 §14: each IDLE session's memory grew about 100 B per delivered message until
/// it re-selected. Once the client has been told everything, the view goes back to the
/// folder snapshot's shared array (MailboxView compaction).
final class MailboxViewCompactionTests: XCTestCase {
    /// The session's own path (SelectedMailbox.takeUpdate, as reportUpdates calls it)
    /// over a real folder: 600 deliveries, each reported as IDLE does; the records the
    /// view holds for itself stay within the bound, and after an EXPUNGE the view
    /// shares the snapshot's array again instead of a private copy of every record.
    func testIdleViewStaysBoundedThroughManyDeliveries() throws {
        let maildir = try TemporaryMaildir()
        let home = try maildir.makeUser("alice")
        var logger = Logger(label: "test")
        logger.logLevel = .critical
        let registry = FolderRegistry(logger: logger)
        let folder = try registry.open(directory: home, mailRoot: home)
        let inbox = ChangeInbox()
        let token = folder.addObserver { inbox.push($0) }
        defer {
            folder.removeObserver(token)
            registry.release(folder)
        }
        let mailbox = SelectedMailbox(
            folder: folder, components: ["INBOX"], readOnly: false,
            view: MailboxView(snapshot: try folder.synchronize(moveNewToCur: true)), inbox: inbox, observer: token)
        // (delivery, private records) where the bound was first passed.
        var overBound: (Int, Int)?
        for k in 1...600 {
            try maildir.deliver("alice", name: "\(1_700_000_000 + k).M\(k)P1.host", body: "Subject: \(k)\r\n\r\nx\r\n")
            _ = try folder.synchronize(moveNewToCur: false)
            XCTAssertEqual(mailbox.takeUpdate(allowExpunge: true)?.exists, k)
            let bound = max(MailboxView.rebaseMinimum, k / MailboxView.rebaseFraction)
            if overBound == nil && mailbox.view.privateRecordCount > bound {
                overBound = (k, mailbox.view.privateRecordCount)
            }
        }
        XCTAssertNil(overBound, "private records over the bound (delivery, records)")
        XCTAssertEqual(mailbox.view.count, 600)

        let doomed = (1...600).filter { $0 % 7 == 0 }.map { StoreUID(UInt32($0)) }
        XCTAssertEqual(try folder.expunge(doomed), doomed)
        XCTAssertEqual(mailbox.takeUpdate(allowExpunge: true)?.expunged.count, doomed.count)
        XCTAssertEqual(mailbox.view.privateRecordCount, 0)
        XCTAssertTrue(mailbox.view.sharesStorage(with: folder.snapshot.messages))
        XCTAssertEqual(mailbox.view.records, folder.snapshot.messages)
    }

    /// A snapshot that says more than the client was told (a flag change or a delivery
    /// still on its way to the inbox, an expunge not yet reported) is not taken; once
    /// the change is reported it is, and the change arriving again is a no-op.
    func testRebaseOnlyOntoWhatTheClientWasTold() {
        let messages = (1...3).map { MailboxViewTests.record(UInt32($0)) }
        var view = MailboxView(
            snapshot: FolderSnapshot(
                uidValidity: StoreUIDValidity(1), uidNext: StoreUID(4), messages: messages, keywords: [],
                canCreateKeywords: true))
        _ = view.apply([.added([MailboxViewTests.record(4)])], allowExpunge: true)
        var current = messages + [MailboxViewTests.record(4)]
        current[1].flags = MessageFlags(system: [.seen])
        current[1].modSeq = ModSeq(1)  // the change below carries it
        let snapshot = FolderSnapshot(
            uidValidity: StoreUIDValidity(1), uidNext: StoreUID(5), messages: current, keywords: [],
            canCreateKeywords: true)
        XCTAssertFalse(view.rebase(onto: snapshot), "flags the client was not told of")
        let seen = [FolderChange.flagsChanged([change(StoreUID(2), MessageFlags(system: [.seen]))])]
        XCTAssertEqual(view.apply(seen, allowExpunge: true).flagChanges.map(\.sequenceNumber), [seq(2)])
        var longer = snapshot
        longer.messages.append(MailboxViewTests.record(5))
        XCTAssertFalse(view.rebase(onto: longer), "a delivery the client was not told of")
        _ = view.apply([.expunged([StoreUID(1)], modSeq: ModSeq(1))], allowExpunge: false)
        XCTAssertFalse(view.rebase(onto: snapshot), "an EXPUNGE not reported yet")
        XCTAssertEqual(view.apply([], allowExpunge: true).expunged, [seq(1)])
        current.removeFirst()
        let after = FolderSnapshot(
            uidValidity: StoreUIDValidity(1), uidNext: StoreUID(5), messages: current, keywords: [],
            canCreateKeywords: true)
        XCTAssertTrue(view.rebase(onto: after))
        XCTAssertTrue(view.sharesStorage(with: current))
        XCTAssertEqual(view.privateRecordCount, 0)
        let again = view.apply(seen + [.added([MailboxViewTests.record(4)])], allowExpunge: true)
        XCTAssertNil(again.exists)
        XCTAssertTrue(again.flagChanges.isEmpty)
        XCTAssertEqual(view.records, current)
    }
}

/// A message sequence number from a count or position the test computes.
private func seq(_ n: Int) -> SequenceNumber { SequenceNumber(UInt32(n)) }

/// A flag change as the folder reports it, all at one mod-sequence (the view keeps it;
/// only a change older than what the view holds is dropped).
private func change(_ uid: StoreUID, _ flags: MessageFlags) -> FlagChange {
    FlagChange(uid: uid, flags: flags, modSeq: ModSeq(1))
}
