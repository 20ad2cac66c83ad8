import XCTest

@testable import MaildirStore

/// MessageRecord keeps INTERNALDATE and its sizes without Optional storage: unknown and
/// every known value read back as set, and equal records stay equal.
final class MessageRecordTests: XCTestCase {
    func testUnknownAndKnownDetailsReadBackAsSet() {
        for date: Int64? in [nil, 0, -1, 1_700_000_000, Int64.min + 1, Int64.max] {
            for size: Int? in [nil, 0, 1, Int.max] {
                var record = MessageRecord(
                    uid: StoreUID(1), flags: MessageFlags(), internalDate: date, physicalSize: size,
                    virtualSize: size, baseName: "1.M1P1.host")
                XCTAssertEqual(record.internalDate, date)
                XCTAssertEqual(record.physicalSize, size)
                XCTAssertEqual(record.virtualSize, size)
                XCTAssertEqual(record.lacksDetails, date == nil || size == nil)
                record.internalDate = nil
                record.virtualSize = 7
                XCTAssertNil(record.internalDate)
                XCTAssertEqual(record.virtualSize, 7)
                XCTAssertTrue(record.lacksDetails)
            }
        }
        let a = MessageRecord(
            uid: StoreUID(2), flags: MessageFlags(), internalDate: 5, physicalSize: nil, virtualSize: 9, baseName: "x")
        var b = a
        b.physicalSize = nil
        XCTAssertEqual(a, b)
        b.physicalSize = 0
        XCTAssertNotEqual(a, b)
    }
}
