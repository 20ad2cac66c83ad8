/// Which of many byte patterns occur in a text, found in one pass over the text
/// (Aho–Corasick), so a SEARCH with thousands of strings reads each message's text once
/// instead of once per string.
///
/// Cost: building is linear in the total pattern length; a scan is linear in the text
/// plus the number of patterns (each pattern is reported once: a suffix chain is left
/// as soon as it reaches a pattern already found, because every pattern further down
/// the chain is a suffix of it and was found with it). Transitions of the root are a
/// table; other nodes keep sorted edges, searched by bisection.
public struct MultiPatternMatcher: Sendable {
    public let patternCount: Int
    /// Root transitions: the child for each byte, 0 when none (the root is no child).
    private var rootNext: [Int32]
    /// Node n's edges are `edgeStart[n] ..< edgeStart[n + 1]`, sorted by byte.
    private var edgeStart: [Int32]
    private var edgeBytes: [UInt8]
    private var edgeTargets: [Int32]
    /// Longest proper suffix of the node's string that is a node (0: the root).
    private var failure: [Int32]
    /// Index of the pattern ending at the node, -1 when none.
    private var pattern: [Int32]
    /// Nearest node on the failure chain where a pattern ends, 0 when none.
    private var outputLink: [Int32]
    /// A repeated pattern (index) and the first index of the same bytes.
    private var aliases: [(Int, Int)]
    /// Empty patterns: they occur in every text (even an empty one).
    private var empty: [Int]

    public init(_ patterns: [[UInt8]]) {
        patternCount = patterns.count
        aliases = []
        empty = []
        // The trie, children as linked lists while building.
        var firstChild: [Int32] = [-1]
        var nextSibling: [Int32] = [-1]
        var byte: [UInt8] = [0]
        var ending: [Int32] = [-1]
        for (index, bytes) in patterns.enumerated() {
            guard !bytes.isEmpty else {
                empty.append(index)
                continue
            }
            var node: Int32 = 0
            for b in bytes {
                var child = firstChild[Int(node)]
                while child >= 0 && byte[Int(child)] != b { child = nextSibling[Int(child)] }
                if child < 0 {
                    child = Int32(byte.count)
                    byte.append(b)
                    firstChild.append(-1)
                    ending.append(-1)
                    nextSibling.append(firstChild[Int(node)])
                    firstChild[Int(node)] = child
                }
                node = child
            }
            if ending[Int(node)] >= 0 {
                aliases.append((index, Int(ending[Int(node)])))
            } else {
                ending[Int(node)] = Int32(index)
            }
        }
        let count = byte.count
        // Sorted edges per node.
        rootNext = [Int32](repeating: 0, count: 256)
        edgeStart = [Int32](repeating: 0, count: count + 1)
        edgeBytes = []
        edgeTargets = []
        edgeBytes.reserveCapacity(count)
        edgeTargets.reserveCapacity(count)
        for node in 0..<count {
            edgeStart[node] = Int32(edgeBytes.count)
            var children: [(UInt8, Int32)] = []
            var child = firstChild[node]
            while child >= 0 {
                children.append((byte[Int(child)], child))
                child = nextSibling[Int(child)]
            }
            children.sort { $0.0 < $1.0 }
            for (b, target) in children {
                edgeBytes.append(b)
                edgeTargets.append(target)
                if node == 0 { rootNext[Int(b)] = target }
            }
        }
        edgeStart[count] = Int32(edgeBytes.count)
        pattern = ending
        failure = [Int32](repeating: 0, count: count)
        outputLink = [Int32](repeating: 0, count: count)
        // Breadth first: a node's failure is computed from its parent's.
        var queue: [Int32] = []
        queue.reserveCapacity(count)
        for edge in Int(edgeStart[0])..<Int(edgeStart[1]) { queue.append(edgeTargets[edge]) }
        var head = 0
        while head < queue.count {
            let node = queue[head]
            head += 1
            for edge in Int(edgeStart[Int(node)])..<Int(edgeStart[Int(node) + 1]) {
                let child = edgeTargets[edge]
                let b = edgeBytes[edge]
                var f = failure[Int(node)]
                while true {
                    if let next = self.child(of: f, b) {
                        failure[Int(child)] = next
                        break
                    }
                    if f == 0 { break }
                    f = failure[Int(f)]
                }
                let target = failure[Int(child)]
                outputLink[Int(child)] = pattern[Int(target)] >= 0 ? target : outputLink[Int(target)]
                queue.append(child)
            }
        }
    }

    /// The child of `node` by `b`, if any.
    @inline(__always)
    private func child(of node: Int32, _ b: UInt8) -> Int32? {
        if node == 0 {
            let next = rootNext[Int(b)]
            return next == 0 ? nil : next
        }
        var low = Int(edgeStart[Int(node)])
        var high = Int(edgeStart[Int(node) + 1])
        while low < high {
            let mid = (low + high) / 2
            let m = edgeBytes[mid]
            if m == b { return edgeTargets[mid] }
            if m < b { low = mid + 1 } else { high = mid }
        }
        return nil
    }

    /// For each pattern, whether it occurs in one of `texts` (each text searched on
    /// its own: no match spans two texts). Stops reading once every pattern was found.
    public func occurrences(in texts: [[UInt8]]) -> [Bool] {
        var found = [Bool](repeating: false, count: patternCount)
        for index in empty { found[index] = true }
        // Aliases are set from their originals at the end: not waited for.
        var remaining = patternCount - empty.count - aliases.count
        for text in texts where remaining > 0 {
            text.withUnsafeBytes { scan($0, found: &found, remaining: &remaining) }
        }
        for (alias, original) in aliases where found[original] { found[alias] = true }
        return found
    }

    private func scan(_ text: UnsafeRawBufferPointer, found: inout [Bool], remaining: inout Int) {
        var node: Int32 = 0
        for b in text {
            if remaining == 0 { return }
            while true {
                if let next = child(of: node, b) {
                    node = next
                    break
                }
                if node == 0 { break }
                node = failure[Int(node)]
            }
            var output = pattern[Int(node)] >= 0 ? node : outputLink[Int(node)]
            while output != 0 {
                let index = Int(pattern[Int(output)])
                if found[index] { break }
                found[index] = true
                remaining -= 1
                output = outputLink[Int(output)]
            }
        }
    }
}
