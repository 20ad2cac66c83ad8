// Quota limits in Dovecot's `quota_rule` syntax (Dovecot 2.3, quota.c):
//
//     <mailbox mask>:<key>=<value>[:<key>=<value>…]      e.g. *:storage=1G:messages=10000
//     <mailbox mask>:ignore
//
// Keys: `storage` (default unit KiB), `bytes` (default unit bytes), `messages`. A value
// is a decimal number optionally followed by a unit whose first letter decides, as in
// Dovecot: B, K, M, G, T (powers of 1024, either case). 0 means unlimited. Several
// rules for the mask `*` (quota_rule, quota_rule2, …) add up: each sets only the keys it
// names, later ones win. `*:ignore` is accepted and changes nothing: Dovecot 2.3.19
// keeps reporting and enforcing the limits with it (checked with doveadm and an
// APPEND; its `ignore` only acts on per-folder rules). Per-folder masks (`Trash:storage=+100M`), relative values
// (`+`/`-`) and percentages are not supported: they are refused, never half-applied.

/// A user's limits; nil means unlimited for that resource.
public struct QuotaLimits: Sendable, Hashable, CustomStringConvertible {
    /// STORAGE (RFC 9208 §5.1), in bytes here (the wire reports KiB).
    public var storageBytes: UInt64?
    /// MESSAGE (RFC 9208 §5.2).
    public var messages: UInt64?

    public init(storageBytes: UInt64? = nil, messages: UInt64? = nil) {
        self.storageBytes = storageBytes
        self.messages = messages
    }

    public static let unlimited = QuotaLimits()
    public var isUnlimited: Bool { storageBytes == nil && messages == nil }

    public var description: String {
        "storage=\(storageBytes.map(String.init) ?? "unlimited") messages=\(messages.map(String.init) ?? "unlimited")"
    }
}

/// Why a rule was refused; the text names the rule.
public struct QuotaRuleError: Error, Sendable, Equatable, CustomStringConvertible {
    public let message: String
    init(_ rule: String, _ reason: String) { message = "quota rule \"\(rule)\": \(reason)" }
    public var description: String { message }
}

public enum QuotaRule {
    /// The mailbox mask of the rule that applies to every folder.
    static let defaultMask = "*"
    static let ignoreKeyword = "ignore"

    /// The limits the rules give, applied in order (position 1 = `quota_rule`,
    /// position 2 = `quota_rule2`, …).
    public static func limits(_ rules: [String]) throws(QuotaRuleError) -> QuotaLimits {
        var rule = DefaultRule()
        for text in rules { try apply(text, to: &rule) }
        return QuotaLimits(storageBytes: rule.bytes, messages: rule.count)
    }

    /// The rules of one user: the server's defaults (`--quota-rule`, in order) with the
    /// user's `quota_rule`, `quota_rule2`, … (passwd extra fields, optionally with
    /// Dovecot's `userdb_` prefix) replacing the default at the same position.
    public static func rules(defaults: [String], extraFields: [String: String]) -> [String] {
        var byPosition: [Int: String] = [:]
        for (index, rule) in defaults.enumerated() { byPosition[index + 1] = rule }
        // `quota_rule` first, the `userdb_` form last so that it wins over the bare one.
        for prefix in ["", "userdb_"] {
            for (key, value) in extraFields {
                guard key.hasPrefix(prefix), let position = position(ofField: String(key.dropFirst(prefix.count)))
                else { continue }
                byPosition[position] = value
            }
        }
        return byPosition.keys.sorted().compactMap { byPosition[$0] }
    }

    /// `quota_rule` → 1, `quota_rule2` → 2, …; nil for any other name (and for
    /// `quota_rule0`/`quota_rule1`, which Dovecot does not read).
    static func position(ofField name: String) -> Int? {
        let base = "quota_rule"
        guard name.hasPrefix(base) else { return nil }
        let suffix = name.dropFirst(base.count)
        if suffix.isEmpty { return 1 }
        guard suffix.allSatisfy(\.isASCII), suffix.allSatisfy(\.isNumber), let n = Int(suffix), n >= 2, n < 1000
        else { return nil }
        return n
    }

    struct DefaultRule {
        var bytes: UInt64?
        var count: UInt64?
    }

    static func apply(_ text: String, to rule: inout DefaultRule) throws(QuotaRuleError) {
        guard let colon = text.firstIndex(of: ":") else { throw QuotaRuleError(text, "expected MAILBOX:LIMITS") }
        let mask = String(text[..<colon])
        let limits = String(text[text.index(after: colon)...])
        guard mask == defaultMask else {
            throw QuotaRuleError(text, "per-folder rules (\(mask.prefix(40))) are not supported, only *")
        }
        if limits == ignoreKeyword { return }
        for item in limits.split(separator: ":", omittingEmptySubsequences: false) {
            let parts = item.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw QuotaRuleError(text, "expected KEY=VALUE, got \(item.prefix(40))") }
            let key = String(parts[0])
            let value = String(parts[1])
            switch key {
            case "storage": rule.bytes = try amount(value, defaultMultiplier: 1024, rule: text)
            case "bytes": rule.bytes = try amount(value, defaultMultiplier: 1, rule: text)
            case "messages": rule.count = try amount(value, defaultMultiplier: 1, rule: text)
            default: throw QuotaRuleError(text, "unknown limit \(key.prefix(40)) (storage, bytes, messages)")
            }
        }
    }

    /// `digits [unit]`; nil for 0 (unlimited).
    static func amount(_ value: String, defaultMultiplier: UInt64, rule: String) throws(QuotaRuleError) -> UInt64? {
        let bytes = Array(value.utf8)
        let digits = bytes.prefix { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
        guard !digits.isEmpty, let number = UInt64(String(decoding: digits, as: UTF8.self)) else {
            if bytes.first == UInt8(ascii: "+") || bytes.first == UInt8(ascii: "-") {
                throw QuotaRuleError(rule, "relative limits (+/-) are only for per-folder rules")
            }
            throw QuotaRuleError(rule, "invalid limit \(value.prefix(40))")
        }
        let unit = bytes.dropFirst(digits.count)
        let multiplier: UInt64
        switch unit.first.map({ $0 | 0x20 }) {
        case nil: multiplier = defaultMultiplier
        case UInt8(ascii: "b"): multiplier = 1
        case UInt8(ascii: "k"): multiplier = 1 << 10
        case UInt8(ascii: "m"): multiplier = 1 << 20
        case UInt8(ascii: "g"): multiplier = 1 << 30
        case UInt8(ascii: "t"): multiplier = 1 << 40
        default:
            throw QuotaRuleError(rule, "unknown unit \(String(decoding: unit, as: UTF8.self).prefix(10))")
        }
        // Only `B` may follow the unit letter ("1G", "1GB"; Dovecot reads the first
        // letter only, we refuse anything else rather than guess).
        let rest = unit.dropFirst()
        guard rest.isEmpty || (rest.count == 1 && rest.first.map({ $0 | 0x20 }) == UInt8(ascii: "b") && unit.count == 2)
        else { throw QuotaRuleError(rule, "invalid unit in \(value.prefix(40))") }
        let (product, overflow) = number.multipliedReportingOverflow(by: multiplier)
        guard !overflow, product <= UInt64(Int64.max) else { throw QuotaRuleError(rule, "limit too large") }
        return product == 0 ? nil : product
    }
}
