import Logging
import MaildirStore  // not @testable: only the public API
import XCTest

/// Compiles only while every name and signature of the MaildirStore contract exists
/// (the server is written against them).
final class ContractTests: XCTestCase {
    func testPublicSignatures() throws {
        let _: (UInt32) -> StoreUID = StoreUID.init(_:)
        let _: (UInt32) -> StoreUIDValidity = StoreUIDValidity.init(_:)
        let _: [SystemFlags] = [.answered, .flagged, .deleted, .seen, .draft]
        let _: (SystemFlags, [String]) -> MessageFlags = MessageFlags.init(system:keywords:)
        let _: [FlagOperation] = [.replace, .add, .remove]
        let _: (Mailstore) -> () throws -> [FolderEntry] = Mailstore.listFolders
        let _: (Mailstore) -> ([String]) throws -> String = Mailstore.directory(for:)
        let _: (Mailstore) -> ([String]) throws -> String = Mailstore.existingFolder
        let _: (Mailstore) -> () throws -> Void = Mailstore.createIfMissing
        let _: (FolderRegistry) -> (String, String, FileOwner?) throws -> SharedFolder =
            FolderRegistry.open(directory:mailRoot:owner:)
        let _: (FolderRegistry) -> (String, Mailstore) throws -> SharedFolder = FolderRegistry.open(directory:store:)
        let _: (FolderRegistry) -> (SharedFolder) -> Void = FolderRegistry.release
        let _: (SharedFolder) -> (Bool) throws -> FolderSnapshot = SharedFolder.synchronize(moveNewToCur:)
        let _: (SharedFolder) -> (FlagOperation, MessageFlags, [StoreUID], ModSeq?) throws -> StoreOutcome =
            SharedFolder.store(_:flags:uids:unchangedSince:)
        let _: (SharedFolder) -> (ModSeq) -> [StoreUID]? = SharedFolder.expunged(since:)
        let _: (SharedFolder) -> ([StoreUID]) throws -> [StoreUID] = SharedFolder.expunge
        let _: (SharedFolder) -> (StoreUID) throws -> MessageFile? = SharedFolder.openMessage
        let _: (SharedFolder) -> (ObserverToken) -> Void = SharedFolder.removeObserver
        let _: (String) -> String = ModifiedUTF7.encode
        let _: (String) -> String? = ModifiedUTF7.decode
        let errors: [StoreError] = [
            .nonexistent("x"), .invalidName("x"), .alreadyExists("x"), .tooManyKeywords, .locked("x"),
            .io("x", errno: 2), .corrupt("x"),
        ]
        XCTAssertEqual(errors.map(\.description).count, 7)

        let maildir = try TempMaildir()
        let store = Mailstore(root: maildir.root, logger: Logger(label: "contract"))
        XCTAssertEqual(store.root, maildir.root)
        XCTAssertTrue(store.exists)
        let registry = FolderRegistry(logger: Logger(label: "contract"))
        let folder = try registry.open(directory: store.root, mailRoot: store.root)
        XCTAssertEqual(folder.directory, maildir.root)
        let token = folder.addObserver { (_: [FolderChange]) in }
        folder.removeObserver(token)
        let snapshot: FolderSnapshot = folder.snapshot
        XCTAssertTrue(snapshot.canCreateKeywords)
        XCTAssertEqual(snapshot.keywords, [])
        registry.release(folder)
    }
}
