/// Message numbers of RFC 9051 §2.3.1. UIDs and message sequence numbers are distinct
/// types so that one can never be passed where the other is meant.

/// A value that can appear in a sequence set: a UID or a message sequence number.
public protocol MessageNumber: RawRepresentable, Hashable, Comparable, Sendable,
    CustomStringConvertible
where RawValue == UInt32 {
    init(_ rawValue: UInt32)
}

extension MessageNumber {
    public init(rawValue: UInt32) { self.init(rawValue) }
    public static func < (a: Self, b: Self) -> Bool { a.rawValue < b.rawValue }
    public var description: String { String(rawValue) }
}

/// RFC 9051 §2.3.1.1: unique identifier, `uniqueid = nz-number`.
public struct UID: MessageNumber {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
}

/// RFC 9051 §2.3.1.2: message sequence number, 1-based position in the session's view.
public struct SequenceNumber: MessageNumber {
    public let rawValue: UInt32
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
}

/// RFC 9051 §2.3.1.1: `UIDVALIDITY` value of a mailbox.
public struct UIDValidity: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: UInt32
    public init(rawValue: UInt32) { self.rawValue = rawValue }
    public init(_ rawValue: UInt32) { self.rawValue = rawValue }
    public var description: String { String(rawValue) }
}
