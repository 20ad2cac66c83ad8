// Memory of a server's processes from /proc (Linux): PSS from smaps_rollup, VmRSS and
// VmHWM from status, summed over a process and all its descendants, so a
// process-per-session server (Dovecot: master, login, auth and one imap process per
// session) and a single-process one are measured the same way.
import Glibc

/// Memory figures in KiB summed over a process tree.
struct TreeMemory: Codable, Equatable, Sendable {
    var processes: Int
    var pssKiB: Int
    var rssKiB: Int
    var hwmKiB: Int
}

enum ProcFS {
    static let procRoot = "/proc"
    /// Writing this to /proc/<pid>/clear_refs resets VmHWM to the current RSS (proc(5)).
    static let resetPeakValue = "5"

    /// A small text file whole, or nil.
    static func read(_ path: String) -> String? {
        (try? FileIO.read(path)).map { String(decoding: $0, as: UTF8.self) }
    }

    /// `Name:   1234 kB` → 1234.
    static func kibField(_ name: String, in text: String) -> Int? {
        for line in text.split(separator: "\n") where line.hasPrefix(name + ":") {
            let value = line.dropFirst(name.count + 1).split(whereSeparator: { $0 == " " || $0 == "\t" }).first
            return value.flatMap { Int($0) }
        }
        return nil
    }

    /// The parent pid in /proc/<pid>/stat: `pid (comm) state ppid …`; comm may hold
    /// spaces and parentheses, so fields are counted after the last `)`.
    static func parentPID(statLine: String) -> Int32? {
        guard let close = statLine.lastIndex(of: ")") else { return nil }
        let fields = statLine[statLine.index(after: close)...].split(separator: " ")
        guard fields.count >= 2 else { return nil }
        return Int32(fields[1])
    }

    /// Every process id now in /proc.
    static func allPIDs() -> [Int32] {
        guard let dir = opendir(procRoot) else { return [] }
        defer { closedir(dir) }
        var pids: [Int32] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if let pid = Int32(name) { pids.append(pid) }
        }
        return pids
    }

    /// `root` and its descendants, from a parent map.
    static func descendants(of root: Int32, parents: [Int32: Int32]) -> [Int32] {
        var children: [Int32: [Int32]] = [:]
        for (pid, parent) in parents { children[parent, default: []].append(pid) }
        var out: [Int32] = []
        var stack = [root]
        while let pid = stack.popLast() {
            out.append(pid)
            stack.append(contentsOf: children[pid] ?? [])
        }
        return out
    }

    static func tree(of root: Int32) -> [Int32] {
        var parents: [Int32: Int32] = [:]
        for pid in allPIDs() {
            if let stat = read("\(procRoot)/\(pid)/stat"), let parent = parentPID(statLine: stat) {
                parents[pid] = parent
            }
        }
        return descendants(of: root, parents: parents)
    }

    /// PSS, RSS and peak RSS summed over the tree of `root`.
    static func memory(ofTree root: Int32) -> TreeMemory {
        var total = TreeMemory(processes: 0, pssKiB: 0, rssKiB: 0, hwmKiB: 0)
        for pid in tree(of: root) {
            guard let status = read("\(procRoot)/\(pid)/status") else { continue }
            total.processes += 1
            total.rssKiB += kibField("VmRSS", in: status) ?? 0
            total.hwmKiB += kibField("VmHWM", in: status) ?? 0
            if let rollup = read("\(procRoot)/\(pid)/smaps_rollup") { total.pssKiB += kibField("Pss", in: rollup) ?? 0 }
        }
        return total
    }

    /// Resets VmHWM of every process in the tree; false if any could not be reset.
    @discardableResult
    static func resetPeak(ofTree root: Int32) -> Bool {
        var all = true
        for pid in tree(of: root) {
            let fd = open("\(procRoot)/\(pid)/clear_refs", O_WRONLY | O_CLOEXEC)
            guard fd >= 0 else {
                all = false
                continue
            }
            let written = resetPeakValue.utf8CString.withUnsafeBytes { write(fd, $0.baseAddress, 1) }
            if written != 1 { all = false }
            close(fd)
        }
        return all
    }
}
