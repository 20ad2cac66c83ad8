import IMAPProtocol

/// REFERENCES step 5 (merging threads by base subject) and step 6 (writing them out),
/// as Dovecot's index-thread-finish.c does them.
extension Threading.ContainerForest {
    /// (5A) The subject table: for each root in date order, its thread subject (the
    /// base subject of the root, or of a dummy's oldest child). A root whose subject is
    /// already in the table is marked to merge (`parentRoot`) into the table's root,
    /// or takes its place when the table's root is no dummy and this one is a dummy,
    /// or when the table's root is a reply or forward and this one is not.
    func gatherSubjects(_ roots: inout [Threading.Root]) {
        // By subject number: the root holding each base subject, -1 for none yet.
        var table = [Int](repeating: -1, count: ids.subjects.count)
        for index in roots.indices where !roots[index].ignore {
            let container =
                roots[index].dummy ? oldestChild(roots[index].container) : roots[index].container
            let keys = messages[message[container]].keys
            let subject = Int(keys.subject)
            let replyOrForward = keys.replyOrForward
            // (5B ii) An empty thread subject (or none) is not merged.
            if ids.subjects[subject].isEmpty { continue }
            let holder = table[subject]
            if holder >= 0 {
                if !roots[holder].dummy && (roots[index].dummy || (roots[holder].replyOrForward && !replyOrForward)) {
                    roots[holder].parentRoot = index
                    table[subject] = index
                } else {
                    roots[index].parentRoot = holder
                }
            } else {
                table[subject] = index
            }
            roots[index].replyOrForward = replyOrForward
        }
    }

    /// (5C) Merges each marked root into the root at the top of its chain: a dummy's
    /// children join the table's dummy; a message joins a dummy, or a message that is
    /// not a reply when it is one; otherwise both go under a new dummy, which takes
    /// the table's place. True when anything merged.
    mutating func mergeSubjectThreads(_ roots: inout [Threading.Root]) -> Bool {
        var changed = false
        for index in roots.indices where roots[index].parentRoot != nil && !roots[index].ignore {
            changed = true
            var top = roots[index].parentRoot!
            while let next = roots[top].parentRoot { top = next }
            let current = roots[index]
            if current.dummy {
                children[roots[top].container] += children[current.container]
                children[current.container] = []
                roots[index].ignore = true
            } else if roots[top].dummy || (current.replyOrForward && !roots[top].replyOrForward) {
                children[roots[top].container].append(current.container)
                roots[index].ignore = true
            } else {
                message.append(-1)
                parent.append(-1)
                children.append([roots[top].container, current.container])
                roots.append(Threading.Root(container: message.count - 1, dummy: true))
                roots[top].parentRoot = roots.count - 1
                roots[top].ignore = true
                roots[index].ignore = true
            }
        }
        return changed
    }

    /// (6) The threads in `roots`' order, each level's siblings by sent date, in
    /// `ThreadNode`'s flat preorder (no recursion: an explicit stack of children
    /// still to write).
    func write(_ roots: [Threading.Root]) -> [ThreadNode] {
        var nodes: [ThreadNode] = []
        nodes.reserveCapacity(message.count)
        for root in roots where !root.ignore {
            var stack = [root.container]
            while let container = stack.popLast() {
                let sorted = sortedChildren(container)
                let number = message[container] < 0 ? 0 : messages[message[container]].number
                nodes.append(ThreadNode(number, childCount: sorted.count))
                if sorted.count == 1 {
                    stack.append(sorted[0])
                } else if !sorted.isEmpty {
                    stack += sorted.reversed()
                }
            }
        }
        return nodes
    }
}
