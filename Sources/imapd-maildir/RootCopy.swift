#if canImport(Glibc)
    import Glibc
#endif

/// `--copy-root`: a private copy of the spool in a fresh temporary directory, made
/// with `cp -a` so that every file keeps its mtime (which is INTERNALDATE). A message
/// whose mtime is later than the delivery time its file name starts with (git keeps no
/// mtimes: a checkout of Examples/ has the checkout time on every file) gets that time,
/// so the demo shows each message's real date and "sort by received" works.
enum RootCopy {
    static func make(of root: String) throws -> String {
        var template = Array("/tmp/imapd-maildir.XXXXXX".utf8CString)
        guard let made = mkdtemp(&template) else { throw RootCopyError("cannot create a temporary directory") }
        let directory = String(cString: made)
        let source = root.hasSuffix("/") ? root + "." : root + "/."
        guard run(["/bin/cp", "-a", source, directory]) == 0 else {
            remove(directory)
            throw RootCopyError("cannot copy \(root) to \(directory)")
        }
        restoreDeliveryTimes(in: directory, depth: 0)
        return directory
    }

    /// Walks the copy (user / folder / cur|new, at most four levels deep, no symlinks).
    static func restoreDeliveryTimes(in directory: String, depth: Int) {
        guard depth < 4, let handle = opendir(directory) else { return }
        defer { closedir(handle) }
        let isMessageDirectory = directory.hasSuffix("/cur") || directory.hasSuffix("/new")
        while let entry = readdir(handle) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) {
                String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self)
            }
            guard name != ".", name != ".." else { continue }
            let path = directory + "/" + name
            if entry.pointee.d_type == UInt8(DT_DIR) {
                restoreDeliveryTimes(in: path, depth: depth + 1)
            } else if isMessageDirectory, entry.pointee.d_type == UInt8(DT_REG) {
                restoreDeliveryTime(of: path, name: name)
            }
        }
    }

    /// `1700000000.M…` → mtime 1700000000, when the file is newer than that.
    static func restoreDeliveryTime(of path: String, name: String) {
        guard let seconds = Int(name.prefix { $0.isASCII && $0.isNumber }), seconds > 0 else { return }
        var st = stat()
        guard stat(path, &st) == 0, st.st_mtim.tv_sec > seconds else { return }
        var times = [timespec(tv_sec: seconds, tv_nsec: 0), timespec(tv_sec: seconds, tv_nsec: 0)]
        _ = utimensat(AT_FDCWD, path, &times, AT_SYMLINK_NOFOLLOW)
    }

    static func remove(_ directory: String) {
        _ = run(["/bin/rm", "-rf", directory])
    }

    private static func run(_ arguments: [String]) -> Int32 {
        var pid: pid_t = 0
        var argv: [UnsafeMutablePointer<CChar>?] = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        guard posix_spawn(&pid, arguments[0], nil, nil, &argv, environ) == 0 else { return -1 }
        var status: Int32 = 0
        while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        return status
    }
}

struct RootCopyError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
