import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// What is checked before serving, so that a wrong setting stops the server with a
/// message naming it instead of starting and answering every client oddly (issue 13
/// item 2).
enum StartupChecks {
    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// `--root` must exist, be a directory and be readable; it is logged either way.
    static func checkRoot(_ root: String, logger: Logger) throws {
        var st = stat()
        guard stat(root, &st) == 0 else {
            throw Failure(description: "--root \(root): \(String(cString: strerror(errno)))")
        }
        guard st.st_mode & S_IFMT == S_IFDIR else { throw Failure(description: "--root \(root): not a directory") }
        guard let directory = opendir(root) else {
            throw Failure(description: "--root \(root): cannot be read: \(String(cString: strerror(errno)))")
        }
        closedir(directory)
        logger.info("spool", metadata: ["root": "\(root)", "owner": "\(st.st_uid):\(st.st_gid)"])
    }

    /// After `--user`: the passwd file must still be readable, since it is re-read when
    /// it changes.
    static func checkReadableAfterDrop(_ path: String, user: String) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw Failure(
                description:
                    "--passwd \(path): not readable by --user \(user) (\(String(cString: strerror(errno)))), so it could "
                    + "not be re-read when it changes; make it readable by that user's group "
                    + "(chgrp GROUP \(path); chmod 640 \(path))")
        }
        close(fd)
    }
}
