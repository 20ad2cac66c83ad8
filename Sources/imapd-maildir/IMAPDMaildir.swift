import ArgumentParser
import Auth
import IMAPProtocol
import IMAPServer
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// `imapd-maildir passwd`: a passwd-file hash, as `doveadm pw` prints it. On a terminal
/// the password is asked twice without echo; otherwise the first line of stdin is used.
struct Passwd: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Hash a password for the passwd file (asked twice on a terminal, else read from stdin).")

    @Option(help: "YESCRYPT (default), SHA512-CRYPT, SHA256-CRYPT or BLF-CRYPT.")
    var scheme: String = "YESCRYPT"
    @Option(help: "Print a whole passwd-file line for this user, NAME:{SCHEME}hash.")
    var user: String?
    /// `--user` is also an option of the server itself, and ArgumentParser hands it to
    /// the parent command when both declare it: read it from there too.
    @ParentCommand var server: Serve

    func run() throws {
        guard let parsed = PasswordScheme(rawValue: scheme.uppercased()) else {
            throw ValidationError("unknown scheme \(scheme)")
        }
        let user = self.user ?? server.user
        if let user, user.isEmpty || user.contains(":") || user.contains(where: \.isNewline) {
            throw ValidationError("--user: a user name without ':' or line breaks")
        }
        let password: String
        if isatty(STDIN_FILENO) == 1 {
            let first = try Self.askWithoutEcho("Enter new password: ")
            let second = try Self.askWithoutEcho("Retype new password: ")
            guard first == second else { throw ValidationError("the passwords do not match") }
            password = first
        } else {
            guard let line = readLine(strippingNewline: true) else {
                throw ValidationError("no password on standard input")
            }
            password = line
        }
        guard !password.isEmpty else { throw ValidationError("empty password") }
        let hash = try makePasswordHash(Array(password.utf8), scheme: parsed)
        print(user.map { "\($0):\(hash)" } ?? hash)
    }

    /// Prompts on stderr and reads a line from the terminal with echo off (restored
    /// afterwards, also on error). Echo goes off before the prompt shows, and pending
    /// input is kept (TCSADRAIN, not TCSAFLUSH): a password typed right after the
    /// prompt is neither echoed nor thrown away.
    static func askWithoutEcho(_ prompt: String) throws -> String {
        var saved = termios()
        guard tcgetattr(STDIN_FILENO, &saved) == 0 else { throw ValidationError("cannot read the terminal settings") }
        var quiet = saved
        quiet.c_lflag &= ~tcflag_t(ECHO)
        guard tcsetattr(STDIN_FILENO, TCSADRAIN, &quiet) == 0 else { throw ValidationError("cannot turn echo off") }
        defer {
            tcsetattr(STDIN_FILENO, TCSADRAIN, &saved)
            writeToStandardError("\n")
        }
        writeToStandardError(prompt)
        guard let line = readLine(strippingNewline: true) else { throw ValidationError("no password given") }
        return line
    }
}

/// Unbuffered, so a prompt shows before the read (stderr's FILE is not concurrency-safe
/// to touch from Swift 6).
func writeToStandardError(_ text: String) {
    let bytes = Array(text.utf8)
    _ = bytes.withUnsafeBytes { write(STDERR_FILENO, $0.baseAddress, $0.count) }
}
