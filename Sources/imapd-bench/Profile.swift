// The mixed client profile: which operation a client runs next, drawn by weight.

/// One step of the mixed profile. Each is one or two IMAP commands (see MixedLoad.swift).
enum Operation: String, CaseIterable, Sendable {
    case select
    case fetchFlags = "fetch-flags"
    case fetchEnvelope = "fetch-envelope"
    case fetchBody = "fetch-body"
    case store
    case append
    case expunge
    case idle
    case logout
}

/// Operations with integer weights; an operation's chance is its weight over the sum.
struct Profile: Equatable, Sendable {
    private(set) var weights: [(Operation, Int)]

    static func == (a: Profile, b: Profile) -> Bool {
        a.weights.map(\.0) == b.weights.map(\.0) && a.weights.map(\.1) == b.weights.map(\.1)
    }

    /// A mailbox user's day, roughly: mostly flag syncs, header lists and reads, some
    /// flag changes, a few saves, deletions, reconnects and IDLE turns.
    static let defaultSpecification =
        "select=5,fetch-flags=20,fetch-envelope=15,fetch-body=20,store=15,append=5,expunge=5,idle=10,logout=5"

    init(weights: [(Operation, Int)]) throws {
        guard weights.contains(where: { $0.1 > 0 }) else { throw ProfileError.noPositiveWeight }
        self.weights = weights.filter { $0.1 > 0 }
    }

    /// `name=weight,name=weight…`; names are Operation raw values; unnamed ones get 0.
    init(parsing specification: String) throws {
        var weights: [(Operation, Int)] = []
        for item in specification.split(separator: ",") {
            let parts = item.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let weight = Int(parts[1].trimmingSpaces), weight >= 0 else {
                throw ProfileError.malformed(String(item))
            }
            guard let operation = Operation(rawValue: String(parts[0].trimmingSpaces)) else {
                throw ProfileError.unknownOperation(String(parts[0]))
            }
            guard !weights.contains(where: { $0.0 == operation }) else {
                throw ProfileError.repeated(operation.rawValue)
            }
            weights.append((operation, weight))
        }
        try self.init(weights: weights)
    }

    var totalWeight: Int { weights.reduce(0) { $0 + $1.1 } }

    /// The operation whose cumulative weight range holds `draw % totalWeight`.
    func operation(forDraw draw: UInt64) -> Operation {
        var point = Int(draw % UInt64(totalWeight))
        for (operation, weight) in weights {
            if point < weight { return operation }
            point -= weight
        }
        return weights[weights.count - 1].0  // unreachable: point < totalWeight
    }

    func pick<R: RandomNumberGenerator>(using generator: inout R) -> Operation {
        operation(forDraw: generator.next())
    }

    var specification: String { weights.map { "\($0.0.rawValue)=\($0.1)" }.joined(separator: ",") }
}

enum ProfileError: Error, Equatable, CustomStringConvertible {
    case malformed(String)
    case unknownOperation(String)
    case repeated(String)
    case noPositiveWeight

    var description: String {
        switch self {
        case .malformed(let item): return "profile item \"\(item)\" is not name=weight"
        case .unknownOperation(let name):
            return
                "unknown operation \"\(name)\" (known: \(Operation.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .repeated(let name): return "operation \(name) given twice"
        case .noPositiveWeight: return "the profile needs at least one positive weight"
        }
    }
}

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, seedable, so a run's sequence of
/// operations is reproducible from its seed.
struct SplitMix64: RandomNumberGenerator, Sendable {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

extension Substring {
    var trimmingSpaces: Substring {
        var s = self
        while s.first == " " { s.removeFirst() }
        while s.last == " " { s.removeLast() }
        return s
    }
}
