// The fixed facts of one open folder (paths, lock and allocator settings, logger). The
// folder algorithms are extensions of this type working on an `inout FolderState` that
// SharedFolder passes in while holding its Mutex.
import Logging

struct FolderContext: Sendable {
    let directory: String
    let mailRoot: String
    let logger: Logger
    let locker: DotLocker
    let allocator: UIDValidityAllocator
    /// Whose file-system ids every operation on the folder runs with (FileOwner.swift);
    /// nil: the process's own.
    let owner: FileOwner?
    /// Folders with this many messages or more get an `imapd-index` (FolderIndex.swift).
    let indexMinimumMessages: Int

    init(
        directory: String, mailRoot: String, logger: Logger, lockTimeout: Duration, owner: FileOwner? = nil,
        indexMinimumMessages: Int = FolderIndex.minimumMessages
    ) {
        self.directory = directory
        self.mailRoot = mailRoot
        self.owner = owner
        self.indexMinimumMessages = indexMinimumMessages
        var logger = logger
        logger[metadataKey: "folder"] = "\(directory)"
        self.logger = logger
        self.locker = DotLocker(timeout: lockTimeout, logger: logger)
        self.allocator = UIDValidityAllocator(mailRoot: mailRoot, logger: logger)
    }

    var curPath: String { POSIX.join(directory, MaildirNames.cur) }
    var newPath: String { POSIX.join(directory, MaildirNames.new) }
    var uidListPath: String { POSIX.join(directory, MaildirNames.uidList) }
    var uidListTempPath: String { POSIX.join(directory, MaildirNames.uidListTemp) }
    var lockPath: String { POSIX.join(directory, MaildirNames.uidListLock) }
    var keywordsFile: KeywordsFile { KeywordsFile(directory: directory) }
    var modSeqLogPath: String { POSIX.join(directory, MaildirNames.modSeqLog) }
    var modSeqLogTempPath: String { POSIX.join(directory, MaildirNames.modSeqLogTemp) }

    func path(of location: MessageLocation) -> String {
        POSIX.join(location.inNew ? newPath : curPath, location.name.fileName)
    }
}
