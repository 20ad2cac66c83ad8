import ArgumentParser
import Auth
import IMAPProtocol
import IMAPServer
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `imapd-maildir passwd`: a passwd-file hash of the password read on stdin, as
/// `doveadm pw` prints it.
struct Passwd: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Read a password on stdin and print its hash for the passwd file.")

    @Option(help: "YESCRYPT (default), SHA512-CRYPT, SHA256-CRYPT or BLF-CRYPT.")
    var scheme: String = "YESCRYPT"

    func run() throws {
        guard let parsed = PasswordScheme(rawValue: scheme.uppercased()) else {
            throw ValidationError("unknown scheme \(scheme)")
        }
        guard let line = readLine(strippingNewline: true), !line.isEmpty else {
            throw ValidationError("no password on standard input")
        }
        print(try makePasswordHash(Array(line.utf8), scheme: parsed))
    }
}
