import IMAPProtocol

/// RFC 5256 §2.2 REFERENCES (and Dovecot's REFS), step by step. Containers are array
/// indices: a container holds a message (`message >= 0`) or is a dummy (-1), one per
/// message identifier met.
extension Threading {
    static func references(_ messages: [Item], ids: IDTable, mergeSubjects: Bool) -> [ThreadNode] {
        var forest = ContainerForest(messages, ids: ids)
        forest.link()
        var roots = forest.shadowRoots()
        // (4) Sort the roots and (5) merge threads by base subject (REFERENCES only).
        if mergeSubjects {
            forest.sortRoots(&roots)
            forest.gatherSubjects(&roots)
            if forest.mergeSubjectThreads(&roots) { forest.sortRoots(&roots) }
        } else {
            forest.sortRootsByNewest(&roots)
        }
        // (6) Siblings ordered by sent date at every level, when written out.
        return forest.write(roots)
    }

    /// A top-level thread during steps 3 to 5 (Dovecot's `mail_thread_root_node`).
    struct Root {
        var container: Int
        var dummy: Bool
        /// A dummy with no children, or a root merged into another (step 5).
        var ignore = false
        /// The base subject had Re:, Fwd: and the like.
        var replyOrForward = false
        /// Step 5: the root (index in the roots array) this one merges into.
        var parentRoot: Int?
        /// (sent date, mailbox order) of the root, or of a dummy's oldest child.
        var key = SortKey(date: 0, order: -1)
    }

    /// A message identifier or base subject as a dictionary key, hashed in one call
    /// over its bytes (`[UInt8]`'s own hashing feeds the hasher a byte at a time,
    /// which was the larger part of threading a big folder).
    struct ByteKey: Hashable {
        let bytes: [UInt8]
        init(_ bytes: [UInt8]) { self.bytes = bytes }
        func hash(into hasher: inout Hasher) {
            bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
        }
    }

    struct SortKey: Comparable {
        var date: Int64
        var order: Int
        static func < (a: SortKey, b: SortKey) -> Bool { a.date != b.date ? a.date < b.date : a.order < b.order }
    }

    struct ContainerForest {
        let messages: [Item]
        let ids: IDTable
        /// Per container: its message index, or -1 for a dummy.
        var message: [Int] = []
        /// Per container: its parent by the reference links (step 1), -1 for none.
        var parent: [Int] = []
        /// Per container: whether it was ever given a child. One that never was is no
        /// one's ancestor, which spares the loop check its walk up the tree in the
        /// common case (a reply to the newest message of a long chain).
        private var hadChild: [Bool] = []
        /// Per container, after step 3: its children in the pruned tree.
        var children: [[Int]] = []
        /// Per identifier number of `ids`: its container, -1 before it is met.
        private var byID: [Int32]

        init(_ messages: [Item], ids: IDTable) {
            self.messages = messages
            self.ids = ids
            byID = Array(repeating: -1, count: ids.idCount)
            message.reserveCapacity(messages.count * 2)
            parent.reserveCapacity(messages.count * 2)
            hadChild.reserveCapacity(messages.count * 2)
        }

        private mutating func newContainer(message: Int = -1) -> Int {
            self.message.append(message)
            parent.append(-1)
            hadChild.append(false)
            return self.message.count - 1
        }

        private mutating func container(for id: Int32) -> Int {
            let existing = byID[Int(id)]
            if existing >= 0 { return Int(existing) }
            let created = newContainer()
            byID[Int(id)] = Int32(created)
            return created
        }

        /// Whether `ancestor` is `node` or above it.
        private func isAncestor(_ ancestor: Int, of node: Int) -> Bool {
            if ancestor == node { return true }
            if !hadChild[ancestor] { return false }
            var current = node
            while current >= 0 {
                if current == ancestor { return true }
                current = parent[current]
            }
            return false
        }

        /// (1) Containers and reference links, message by message in mailbox order.
        mutating func link() {
            for index in messages.indices {
                // (1) A message without a valid Message-ID, or with one an earlier
                // message already has, gets a container of its own.
                let keys = messages[index].keys
                var own: Int
                if keys.ownID >= 0 {
                    own = container(for: keys.ownID)
                    if self.message[own] >= 0 { own = newContainer(message: index) }
                    self.message[own] = index
                } else {
                    own = newContainer(message: index)
                }
                let references = ids.references(keys)
                // (1A) Each reference the parent of the next, unless the next already
                // has a parent or the link would make a loop.
                var previous: Int?
                for id in references {
                    let current = container(for: id)
                    if let previous, parent[current] < 0, !isAncestor(current, of: previous) {
                        parent[current] = previous
                        hadChild[previous] = true
                    }
                    previous = current
                }
                // (1B) The last reference is the message's parent. Any parent an
                // earlier message's references gave it is dropped first, even when the
                // new link is not made because it would make a loop (imaptest's
                // `thread` group: <c> referenced by <b> whose References name <a> <c>
                // ends up a root, not under <a>).
                parent[own] = -1
                if let last = previous, !isAncestor(own, of: last) {
                    parent[own] = last
                    hadChild[last] = true
                }
            }
        }

        /// (2) The roots, and (3) the dummies pruned: a message hangs under its nearest
        /// ancestor that is a message, or under the topmost dummy when it has none
        /// (the children of a dummy are promoted, but never to the top level). Dummy
        /// roots keep their children; one with a single child is replaced by it when
        /// the roots are sorted.
        mutating func shadowRoots() -> [Root] {
            children = Array(repeating: [], count: message.count)
            var roots: [Root] = []
            for container in message.indices {
                if parent[container] < 0 {
                    roots.append(Root(container: container, dummy: message[container] < 0))
                    continue
                }
                guard message[container] >= 0 else { continue }
                var above = parent[container]
                while message[above] < 0 && parent[above] >= 0 { above = parent[above] }
                children[above].append(container)
            }
            return roots
        }

        func key(_ container: Int) -> SortKey {
            SortKey(date: messages[message[container]].sentDate, order: message[container])
        }

        /// The child with the smallest (sent date, mailbox order); the container has
        /// children.
        func oldestChild(_ container: Int) -> Int {
            children[container].min { key($0) < key($1) }!
        }

        func sortedChildren(_ container: Int) -> [Int] {
            // Most containers have no child or one: nothing to sort, nothing to copy.
            guard children[container].count > 1 else { return children[container] }
            return children[container].sorted { key($0) < key($1) }
        }

        /// (4) Roots by sent date; a dummy by its oldest child, and replaced by its
        /// child when it has only one.
        mutating func sortRoots(_ roots: inout [Root]) {
            for index in roots.indices where !roots[index].ignore {
                let root = roots[index]
                if !root.dummy {
                    roots[index].key = key(root.container)
                    continue
                }
                let sorted = sortedChildren(root.container)
                if sorted.isEmpty {
                    roots[index].ignore = true
                } else if sorted.count == 1 {
                    roots[index].container = sorted[0]
                    roots[index].dummy = false
                    roots[index].key = key(sorted[0])
                } else {
                    roots[index].key = key(sorted[0])
                }
            }
            roots.sort { $0.key < $1.key }
        }

        /// REFS: roots ordered by the newest sent date in their thread. As in Dovecot
        /// (`sort_root_nodes_ref2`), a dummy root is kept even with one child, and
        /// sorts before the messages of the same date (its UID counts as 0).
        func sortRootsByNewest(_ roots: inout [Root]) {
            for index in roots.indices {
                let container = roots[index].container
                if roots[index].dummy && children[container].isEmpty {
                    roots[index].ignore = true
                    continue
                }
                var newest = SortKey(date: Int64.min, order: roots[index].dummy ? -1 : message[container])
                var stack = [container]
                while let container = stack.popLast() {
                    if message[container] >= 0, key(container).date > newest.date { newest.date = key(container).date }
                    stack += children[container]
                }
                roots[index].key = newest
            }
            roots.sort { $0.key < $1.key }
        }
    }
}
