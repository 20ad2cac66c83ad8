import IMAPProtocol
import MaildirStore

/// Conversions between storage values and wire values. Storage never sees IMAP types
/// and the codec never sees storage types; this file is the only bridge.
extension MessageFlags {
    /// FETCH FLAGS order: system flags as SELECT lists them, then keywords.
    var wireFlags: [Flag] {
        var flags: [Flag] = []
        if system.contains(.answered) { flags.append(.answered) }
        if system.contains(.flagged) { flags.append(.flagged) }
        if system.contains(.deleted) { flags.append(.deleted) }
        if system.contains(.seen) { flags.append(.seen) }
        if system.contains(.draft) { flags.append(.draft) }
        for keyword in keywords { flags.append(.keyword(keyword)) }
        return flags
    }

    /// Flags a client asked to store. `\Recent` and other `\`-flags cannot be stored in
    /// a Maildir and are ignored, as Dovecot does.
    init(wire flags: [Flag]) {
        var system: SystemFlags = []
        var keywords: [String] = []
        for flag in flags {
            switch flag {
            case .answered: system.insert(.answered)
            case .flagged: system.insert(.flagged)
            case .deleted: system.insert(.deleted)
            case .seen: system.insert(.seen)
            case .draft: system.insert(.draft)
            case .extension: break
            case .keyword(let k):
                if !keywords.contains(where: { $0.lowercased() == k.lowercased() }) { keywords.append(k) }
            }
        }
        self.init(system: system, keywords: keywords)
    }
}

extension StoreUID {
    var wire: UID { UID(rawValue) }
}

extension StoreUIDValidity {
    var wire: UIDValidity { UIDValidity(rawValue) }
}

/// Sorted UIDs to merged ranges, for COPYUID/APPENDUID/ESEARCH ALL.
func mergedRanges(_ values: [UInt32]) -> [ClosedRange<UInt32>] {
    var ranges: [ClosedRange<UInt32>] = []
    for v in values.sorted() {
        if let last = ranges.last, last.upperBound < .max, v == last.upperBound + 1 {
            ranges[ranges.count - 1] = last.lowerBound...v
        } else if let last = ranges.last, last.contains(v) {
            continue
        } else {
            ranges.append(v...v)
        }
    }
    return ranges
}
