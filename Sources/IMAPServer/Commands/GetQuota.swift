import IMAPProtocol
import MaildirStore

extension IMAPSession {
    /// RFC 9208 §4.1.1 GETQUOTA: the one root every folder of the user shares
    /// (`Quota.rootName`, as Dovecot names it); any other name, or a user without
    /// limits, has no such root.
    func handleGetQuota(tag: String, user: UserSession, root: String) async {
        guard root == Quota.rootName, !user.quota.limits.isUnlimited else {
            fail(tag, .quotaRootMissing)
            return
        }
        guard let resources = await quotaResources(tag: tag, user.quota) else { return }
        writer.untagged(.quota(root: Quota.rootName, resources))
        await finish(tag, "Getquota completed.")
    }

    /// The root's resources with a limit, in RFC 9208 §5 order: STORAGE in units of
    /// 1024 octets (§5.1; usage and limit rounded up, as Dovecot does), MESSAGE (§5.2).
    /// nil when the usage could not be read (NO sent).
    func quotaResources(tag: String, _ quota: Quota) async -> [QuotaResource]? {
        let usage: QuotaUsage
        do {
            usage = try await context.blocking { try quota.usage() }
        } catch {
            sendStoreFailure(tag, error, name: MailboxName(""))
            return nil
        }
        return Self.quotaResources(quota.limits, usage)
    }

    static func quotaResources(_ limits: QuotaLimits, _ usage: QuotaUsage) -> [QuotaResource] {
        var resources: [QuotaResource] = []
        if let limit = limits.storageBytes {
            resources.append(
                QuotaResource(
                    name: QuotaResourceName.storage, usage: kibibytesRoundedUp(UInt64(max(0, usage.bytes))),
                    limit: kibibytesRoundedUp(limit)))
        }
        if let limit = limits.messages {
            resources.append(
                QuotaResource(name: QuotaResourceName.message, usage: UInt64(max(0, usage.messages)), limit: limit))
        }
        return resources
    }

    static func kibibytesRoundedUp(_ bytes: UInt64) -> UInt64 { bytes / 1024 + (bytes % 1024 == 0 ? 0 : 1) }
}

/// RFC 9208 §5 resource names.
enum QuotaResourceName {
    static let storage = "STORAGE"
    static let message = "MESSAGE"
}
