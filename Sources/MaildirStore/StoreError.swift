import Glibc

/// Errors of the storage layer. The server maps them to NO responses.
public enum StoreError: Error, Sendable, CustomStringConvertible {
    /// The folder does not exist.
    case nonexistent(String)
    /// The name is refused; the payload says why (traversal, control characters, ...).
    case invalidName(String)
    case alreadyExists(String)
    /// All 26 keyword letters of the folder are used.
    case tooManyKeywords
    /// `dovecot-uidlist.lock` could not be acquired in time.
    case locked(String)
    /// An underlying system call failed: the path and errno.
    case io(String, errno: Int32)
    case corrupt(String)
    /// The thread could not take the Maildir owner's file-system ids (FileOwner.swift).
    case credentials(String)

    public var description: String {
        switch self {
        case .nonexistent(let name): return "folder does not exist: \(name)"
        case .invalidName(let reason): return "invalid folder name: \(reason)"
        case .alreadyExists(let name): return "folder already exists: \(name)"
        case .tooManyKeywords: return "too many keywords (26 letters used)"
        case .locked(let path): return "could not lock \(path) in time"
        case .io(let path, let code): return "I/O error on \(path): \(String(cString: strerror(code))) (errno \(code))"
        case .corrupt(let what): return "corrupt: \(what)"
        case .credentials(let what): return what
        }
    }
}
