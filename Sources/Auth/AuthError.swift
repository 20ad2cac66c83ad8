import Glibc

/// Failures the Auth module reports by throwing. None of them carries a password or a
/// stored hash, so every description is safe to log.
public enum AuthError: Error, Sendable, CustomStringConvertible {
    /// The passwd file could not be opened, examined or read.
    case cannotRead(path: String, errno: Int32)
    /// A password scheme this module cannot verify or generate.
    case unsupportedScheme(String)
    /// libcrypt refused to make a salt or a hash.
    case hashingFailed(String)

    public var description: String {
        switch self {
        case .cannotRead(let path, let code):
            return "cannot read passwd file \(path): \(systemErrorMessage(code)) (errno \(code))"
        case .unsupportedScheme(let scheme):
            return "unsupported password scheme \(scheme)"
        case .hashingFailed(let reason):
            return "password hashing failed: \(reason)"
        }
    }
}

/// A passwd file that could be read but holds a line this module refuses to guess about
/// (invalid UTF-8, a NUL byte, an empty user name, a uid/gid that is neither a number
/// nor a known name, an extra field without a name). `PasswdDatabase.init` throws it;
/// on a reload the previous contents are kept instead.
///
/// Only the line number and a fixed reason are kept, never the line itself: the line
/// holds a password or a hash.
public struct PasswdFileSyntaxError: Error, Sendable, Hashable, CustomStringConvertible {
    public var path: String
    /// 1-based line number in the file.
    public var line: Int
    public var reason: String

    public init(path: String, line: Int, reason: String) {
        self.path = path
        self.line = line
        self.reason = reason
    }

    public var description: String {
        "passwd file \(path) line \(line): \(reason)"
    }
}

/// `strerror` text for an errno value, through the thread-safe XSI `strerror_r` (the
/// variant Swift's Glibc module exposes: it fills the buffer and returns 0).
func systemErrorMessage(_ code: Int32) -> String {
    var buffer = [CChar](repeating: 0, count: 256)
    let status = buffer.withUnsafeMutableBufferPointer { storage -> Int32 in
        guard let base = storage.baseAddress else { return EINVAL }
        return strerror_r(code, base, storage.count - 1)
    }
    guard status == 0 else { return "error \(code)" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
