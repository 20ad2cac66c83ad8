// `imapd-bench generate`: the spools the scenarios run on, one Maildir per user, and the
// passwd file for them.
import ArgumentParser

struct Generate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write benchmark Maildirs (varied MIME, flags in file names, ,S= and ,W= sizes) and a passwd file.")

    @Option(help: "Spool directory: one Maildir per user below it.") var root: String
    @Option(help: "Mixed-profile users (<prefix>0001…).") var users = 50
    @Option(help: "User name prefix.") var userPrefix = "bench"
    @Option(help: "Messages in each mixed-profile user's INBOX.") var messages = 500
    @Option(help: "A user with one large folder (scenario b); empty: none.") var hugeUser = "huge"
    @Option(help: "Messages in the large folder.") var hugeMessages = 100_000
    @Option(help: "A user whose INBOX holds one large message (scenario e); empty: none.") var bigUser = "big"
    @Option(help: "Size of the large message in bytes.") var bigSize = 50 * 1024 * 1024
    @Option(help: "An empty user that receives deliveries (scenario d); empty: none.") var deliverUser = "deliver"
    @Option(help: "Write a passwd file here, every user with --hash.") var passwd: String?
    @Option(help: "Password hash for every user, e.g. {SHA512-CRYPT}$6$…") var hash: String?
    @Option(help: "Random seed.") var seed: UInt64 = 6
    @Flag(
        help:
            "Write a dovecot-uidlist in every Maildir: UID n for the n-th message generated, so that every server given a copy serves the same UIDs (the golden SORT/THREAD test)."
    )
    var uidlist = false

    func validate() throws {
        if (passwd == nil) != (hash == nil) { throw ValidationError("--passwd and --hash go together") }
    }

    func run() throws {
        var rng = SplitMix64(seed: seed)
        var names: [String] = []
        for user in 1...max(users, 1) where users > 0 {
            let name = Self.userName(prefix: userPrefix, index: user)
            names.append(name)
            try Self.writeMaildir(
                root: root + "/" + name, count: messages, small: false, uidlist: uidlist, rng: &rng)
        }
        if !hugeUser.isEmpty {
            names.append(hugeUser)
            try Self.writeMaildir(
                root: root + "/" + hugeUser, count: hugeMessages, small: true, uidlist: uidlist, rng: &rng)
        }
        if !bigUser.isEmpty {
            names.append(bigUser)
            let dir = root + "/" + bigUser
            try Self.writeMaildir(root: dir, count: 0, small: true, rng: &rng)
            let message = MessageFactory.large(size: bigSize, seed: seed)
            try FileIO.write(
                message, to: dir + "/cur/" + Self.fileName(index: 0, message: message, flags: "S"),
                mtime: MessageFactory.epoch)
        }
        if !deliverUser.isEmpty {
            names.append(deliverUser)
            try Self.writeMaildir(root: root + "/" + deliverUser, count: 0, small: true, rng: &rng)
        }
        if let passwd, let hash {
            try FileIO.write(names.map { "\($0):\(hash)\n" }.joined(), to: passwd)
        }
        Console.out("generated \(names.count) users under \(root)\n")
    }

    static func userName(prefix: String, index: Int) -> String {
        let digits = String(index)
        return prefix + String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    /// Dovecot-LDA style: `<secs>.M<usecs>P<pid>.<host>,S=<size>,W=<vsize>:2,<flags>`.
    static func fileName(index: Int, message: [UInt8], flags: String?) -> String {
        let base =
            "\(MessageFactory.epoch + index * 37).M\(index % 1_000_000)P4242.bench,S=\(message.count),W=\(MessageFactory.virtualSize(message))"
        guard let flags else { return base }
        return base + ":2," + flags
    }

    /// Most messages seen, some flagged or answered; the newest 2 % still in new/.
    /// With `uidlist`, a version 3 dovecot-uidlist giving the n-th message UID n (records
    /// name the base, the part before `:2,`, as Dovecot's do), a fixed UIDVALIDITY and GUID.
    static func writeMaildir<R: RandomNumberGenerator>(
        root: String, count: Int, small: Bool, uidlist: Bool = false, rng: inout R
    ) throws {
        for sub in ["cur", "new", "tmp"] { try FileIO.makeDirectories(root + "/" + sub) }
        let unseenFrom = count - count / 50
        var records = ["3 V\(MessageFactory.epoch) N\(count + 1) G\(uidlistGUID)"]
        for index in 0..<count {
            let message = MessageFactory.message(index: index, small: small, rng: &rng)
            let draw = rng.next() % 100
            let flags: String? =
                index >= unseenFrom ? nil : draw < 10 ? "FS" : draw < 25 ? "RS" : draw < 30 ? "" : "S"
            let name = fileName(index: index, message: message, flags: flags)
            try FileIO.write(
                message, to: root + (flags == nil ? "/new/" : "/cur/") + name,
                mtime: MessageFactory.epoch + index * 37)
            records.append("\(index + 1) :\(fileName(index: index, message: message, flags: nil))")
        }
        if uidlist { try FileIO.write(records.joined(separator: "\n") + "\n", to: root + "/dovecot-uidlist") }
    }

    /// The mailbox GUID of generated uidlists (any 32 hex digits; fixed for reproducibility).
    static let uidlistGUID = "0123456789abcdef0123456789abcdef"
}
