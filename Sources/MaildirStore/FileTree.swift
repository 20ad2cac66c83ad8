// Recursive removal of a directory tree without ever following a symlink: every level
// is opened relative to its parent with O_NOFOLLOW, and symlinks are unlinked as files.
// Used after a folder directory was renamed out of the way (so nobody else uses it).
import Glibc

enum FileTree {
    private static let maxDepth = 16

    static func remove(_ path: String) throws {
        guard let status = try POSIX.status(path, followSymlinks: false) else { return }
        guard status.isDirectory else {
            if unlink(path) != 0 && !POSIX.isMissing(errno) { throw POSIX.error(path) }
            return
        }
        guard let fd = try POSIX.open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW) else { return }
        try removeContents(fd: fd, path: path, depth: 0)
        if rmdir(path) != 0 && !POSIX.isMissing(errno) { throw POSIX.error(path) }
    }

    /// Empties the directory `fd` (and closes it).
    private static func removeContents(fd: Int32, path: String, depth: Int) throws {
        guard let dir = fdopendir(fd) else {
            close(fd)
            throw POSIX.error(path)
        }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name: String? = withUnsafePointer(to: &entry.pointee.d_name) { tuple in
                tuple.withMemoryRebound(to: CChar.self, capacity: MemoryLayout.size(ofValue: tuple.pointee)) {
                    String(validatingCString: $0)
                }
            }
            if let name, name != ".", name != ".." { names.append(name) }
        }
        for name in names {
            let child = POSIX.join(path, name)
            var st = stat()
            guard fstatat(fd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            if FileStatus(st).isDirectory {
                guard depth < maxDepth else { throw POSIX.error(child, ELOOP) }
                let childFD = openat(fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
                guard childFD >= 0 else { throw POSIX.error(child) }
                try removeContents(fd: childFD, path: child, depth: depth + 1)
                if unlinkat(fd, name, AT_REMOVEDIR) != 0 && !POSIX.isMissing(errno) { throw POSIX.error(child) }
            } else if unlinkat(fd, name, 0) != 0 && !POSIX.isMissing(errno) {
                throw POSIX.error(child)
            }
        }
    }
}
