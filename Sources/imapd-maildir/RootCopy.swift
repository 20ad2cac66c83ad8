#if canImport(Glibc)
    import Glibc
#endif

/// `--copy-root`: a private copy of the spool in a fresh temporary directory, made
/// with `cp -a` so that every file keeps its mtime (which is INTERNALDATE).
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
        return directory
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
