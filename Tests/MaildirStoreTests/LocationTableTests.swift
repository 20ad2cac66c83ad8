import Dispatch
import Synchronization
import XCTest

@testable import MaildirStore

/// A table loaded from imapd-index (LocationTable over LazyNameTable) answers as the dictionary it
/// stands for, builds it once however many copies read it at once, and a change to one
/// copy leaves the others as they were.
final class LocationTableTests: XCTestCase {
    private func location(_ n: Int) -> MessageLocation {
        MessageLocation(
            inNew: n % 5 == 0,
            name: MaildirFileName(baseName: "17000\(n).M\(n)P1.host", letters: n % 2 == 0 ? [83] : []))
    }

    private func names(_ count: Int) -> [String] { (0..<count).map { "17000\($0).M\($0)P1.host" } }

    /// The same files put one by one: the reference.
    private func reference(_ count: Int) -> LocationTable {
        var table: LocationTable = [:]
        for (n, name) in names(count).enumerated() { table[name] = location(n) }
        return table
    }

    private func loaded(_ count: Int) -> LocationTable {
        LocationTable(
            loaded: LoadedLocations(names: names(count), (0..<count).map(location)), digest: reference(count).digest)
    }

    private func summary(_ table: LocationTable) -> [String: String] {
        table.byBaseName.mapValues { "\($0.inNew) \($0.name.fileName)" }
    }

    func testALoadedTableAnswersAsTheDictionary() {
        let table = loaded(1000)
        let expected = reference(1000)
        XCTAssertEqual(table.count, 1000)
        XCTAssertEqual(table.inNewCount, expected.inNewCount)
        XCTAssertEqual(table.inNewCount, 200)
        var inNew: [String] = []
        table.forEachInNew { name, _ in inNew.append(name) }
        XCTAssertEqual(Set(inNew), Set(expected.byBaseName.filter { $0.value.inNew }.keys))
        XCTAssertEqual(table[names(1000)[7]]?.name.fileName, expected[names(1000)[7]]?.name.fileName)
        XCTAssertNil(table["nothing"])
        XCTAssertEqual(summary(table), summary(expected))
        XCTAssertEqual(table.digest, expected.digest)
    }

    /// A change to one copy (a snapshot taken before it keeps its view); the digest
    /// and the count of files in new/ follow the change.
    func testAChangeLeavesCopiesAsTheyWere() {
        var table = loaded(100)
        let snapshot = table
        _ = table[names(100)[3]]  // built, then shared with the snapshot
        table[names(100)[0]] = nil
        table["new-one"] = MessageLocation(inNew: true, name: MaildirFileName(baseName: "new-one", hasInfo: false))
        var expected = reference(100)
        expected[names(100)[0]] = nil
        expected["new-one"] = MessageLocation(inNew: true, name: MaildirFileName(baseName: "new-one", hasInfo: false))
        XCTAssertEqual(summary(table), summary(expected))
        XCTAssertEqual(table.digest, expected.digest)
        XCTAssertEqual(table.inNewCount, expected.inNewCount)
        XCTAssertEqual(summary(snapshot), summary(reference(100)))
        XCTAssertEqual(snapshot.count, 100)
        // Changed before it was ever read: the table takes the pairs as its own.
        var untouched = loaded(50)
        untouched[names(50)[49]] = nil
        XCTAssertEqual(untouched.count, 49)
        XCTAssertNil(untouched[names(50)[49]])
    }

    /// Copies read on many threads at once: one dictionary, the same answers.
    func testConcurrentReadersOfCopies() {
        let table = loaded(5000)
        let copies = Array(repeating: table, count: 8)
        let wanted = names(5000)
        let counts = Mutex([Int](repeating: 0, count: 8))
        DispatchQueue.concurrentPerform(iterations: 8) { i in
            let found = wanted.count(where: { copies[i][$0] != nil })
            counts.withLock { $0[i] = found }
        }
        XCTAssertEqual(counts.withLock { $0 }, Array(repeating: 5000, count: 8))
    }

    /// A message's file looked up by its index in a loaded table: in place when the
    /// name is the one saved there, else from the dictionary.
    func testLookupByMessageIndex() {
        let table = loaded(100)
        let all = names(100)
        XCTAssertEqual(table.location(of: all[5], messageIndex: 5)?.name.fileName, location(5).name.fileName)
        XCTAssertEqual(table.location(of: all[5], messageIndex: 6)?.name.fileName, location(5).name.fileName)
        XCTAssertEqual(table.location(of: all[5], messageIndex: 1000)?.name.fileName, location(5).name.fileName)
        XCTAssertNil(table.location(of: "nothing", messageIndex: 5))
        var changed = table
        changed[all[5]] = nil
        XCTAssertNil(changed.location(of: all[5], messageIndex: 5))
        XCTAssertNotNil(table.location(of: all[5], messageIndex: 5))
    }

    func testANameSavedTwiceKeepsItsFirstFile() {
        let first = location(1)
        let second = location(2)
        let table = LocationTable(loaded: LoadedLocations(names: ["a", "a"], [first, second]), digest: NameDigest())
        XCTAssertEqual(table["a"]?.inNew, first.inNew)
        XCTAssertEqual(table["a"]?.name.letters, first.name.letters)
        XCTAssertEqual(table["a"]?.name.baseName, "a")
    }
}
