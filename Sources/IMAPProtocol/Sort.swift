/// SORT (RFC 5256 §3, with RFC 5957 SORT=DISPLAY keys and RFC 5267 ESORT return
/// options) and THREAD (RFC 5256 §3, with Dovecot's REFS algorithm).

/// `sort-key` (RFC 5256 §4, RFC 5957 §4).
public enum SortKey: String, Hashable, Sendable, CaseIterable {
    case arrival = "ARRIVAL"
    case cc = "CC"
    case date = "DATE"
    case from = "FROM"
    case size = "SIZE"
    case subject = "SUBJECT"
    case to = "TO"
    case displayFrom = "DISPLAYFROM"
    case displayTo = "DISPLAYTO"
}

/// `sort-criterion = ["REVERSE" SP] sort-key`
public struct SortCriterion: Hashable, Sendable {
    public var key: SortKey
    public var reverse: Bool
    public init(_ key: SortKey, reverse: Bool = false) {
        self.key = key
        self.reverse = reverse
    }
}

public struct SortCommand: Sendable {
    public var criteria: [SortCriterion]
    /// `search-criteria = charset 1*(SP search-key)`: the charset is mandatory here.
    public var charset: String
    /// The keys, implicitly ANDed (as SEARCH's).
    public var key: SearchKey
    /// RFC 5267 `sort-return-opts`; empty when no RETURN was given.
    public var returnOptions: [SearchReturnOption]
    public var hasReturn: Bool
    /// RFC 9394 `PARTIAL range`, over the sorted result.
    public var partial: PartialRange?
    public init(
        criteria: [SortCriterion], charset: String, key: SearchKey, returnOptions: [SearchReturnOption] = [],
        hasReturn: Bool = false, partial: PartialRange? = nil
    ) {
        self.criteria = criteria
        self.charset = charset
        self.key = key
        self.returnOptions = returnOptions
        self.hasReturn = hasReturn
        self.partial = partial
    }
}

/// `thread-alg`: the algorithms this server implements.
public enum ThreadAlgorithm: String, Hashable, Sendable, CaseIterable {
    case orderedSubject = "ORDEREDSUBJECT"
    case references = "REFERENCES"
    /// Dovecot's variant of REFERENCES: no subject merging, threads ordered by their
    /// newest message.
    case refs = "REFS"
}

public struct ThreadCommand: Sendable {
    public var algorithm: ThreadAlgorithm
    public var charset: String
    public var key: SearchKey
    public init(algorithm: ThreadAlgorithm, charset: String, key: SearchKey) {
        self.algorithm = algorithm
        self.charset = charset
        self.key = key
    }
}

/// One node of a `* THREAD` answer, in a flat preorder list: each node is followed by
/// its `childCount` subtrees, the top-level nodes are the threads. A message is its
/// sequence number or UID; a top-level node may be a dummy (`number == 0`) holding
/// the messages of a thread whose root is missing (RFC 5256 §2.2 step 3). Flat so
/// that neither building, encoding nor freeing a thread a hundred thousand replies
/// deep recurses.
public struct ThreadNode: Hashable, Sendable {
    public var number: UInt32
    public var childCount: Int
    public init(_ number: UInt32, childCount: Int = 0) {
        self.number = number
        self.childCount = childCount
    }

    /// The text of `thread-list`s for `nodes` (RFC 5256 §4): `(1 2 (3)(4 5))(6)`. A
    /// node with one child is followed by it; one with several, by each child's
    /// subtree in parentheses; a dummy shows only its children, as Dovecot writes it.
    public static func format(_ nodes: [ThreadNode]) -> String {
        var text = ""
        var roots = 0
        var index = 0
        while index < nodes.count {
            roots += 1
            index = subtreeEnd(nodes, index)
        }
        // One frame per open child list: how many of its nodes are left, whether they
        // are written as parenthesised siblings, and whether a ")" closes the list.
        var stack: [(remaining: Int, siblings: Bool, close: Bool)] = [(roots, true, false)]
        index = 0
        while let top = stack.last {
            if top.remaining == 0 {
                stack.removeLast()
                if top.close { text += ")" }
                continue
            }
            stack[stack.count - 1].remaining -= 1
            let node = nodes[index]
            index += 1
            let childList = (remaining: node.childCount, siblings: node.childCount > 1)
            if !top.siblings {
                text += String(node.number)
                if node.childCount > 0 {
                    text += " "
                    stack.append((childList.remaining, childList.siblings, false))
                }
            } else if node.childCount == 0 {
                if node.number != 0 { text += "(" + String(node.number) + ")" }
            } else {
                text += node.number == 0 ? "(" : "(" + String(node.number) + " "
                stack.append((childList.remaining, childList.siblings, true))
            }
        }
        return text
    }

    /// The index after the subtree that starts at `start`.
    public static func subtreeEnd(_ nodes: [ThreadNode], _ start: Int) -> Int {
        var pending = 1
        var index = start
        while pending > 0 && index < nodes.count {
            pending += nodes[index].childCount - 1
            index += 1
        }
        return index
    }
}
