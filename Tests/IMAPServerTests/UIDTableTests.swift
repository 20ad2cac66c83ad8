import XCTest

@testable import IMAPServer

/// The header cache's UID-ordered table answers as a dictionary whose last put wins.
final class UIDTableTests: XCTestCase {
    func testAnswersAsADictionaryForAnyOrderOfPutsAndLookups() {
        var generator = SystemRandomNumberGenerator()
        for round in 0..<200 {
            var table = UIDTable<Int>()
            var model: [UInt32: Int] = [:]
            let span = UInt32.random(in: 1...300, using: &generator)
            let inOrder = round % 3 == 0
            var uid: UInt32 = 0
            for value in 0..<Int.random(in: 0...200, using: &generator) {
                uid =
                    inOrder
                    ? uid + UInt32.random(in: 1...3, using: &generator) : UInt32.random(in: 1...span, using: &generator)
                table.put(uid, value)
                model[uid] = value
            }
            table.normalize()
            XCTAssertEqual(table.count, model.count)
            XCTAssertEqual(table.entries.map(\.0), model.keys.sorted())
            XCTAssertEqual(table.entries.map(\.1), model.keys.sorted().map { model[$0]! })
            let top = max(span, uid) + 5
            var wanted = (0...top).filter { _ in Bool.random(using: &generator) }
            if round % 4 == 1 { wanted.shuffle(using: &generator) }
            if round % 4 == 2 { wanted += wanted.reversed() }
            XCTAssertEqual(table.lookup(wanted), wanted.map { model[$0] }, "round \(round)")
        }
    }
}
