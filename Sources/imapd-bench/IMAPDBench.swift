// imapd-bench: load generator and side-by-side benchmark scenarios for IMAP servers
// (issue 6). Each subcommand is one scenario of contrib/bench/compare.sh; `report`
// turns their JSON results into the ratio table.
import ArgumentParser

@main
struct IMAPDBench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "imapd-bench",
        abstract:
            "Benchmark an IMAP server: mixed load, large folders, idle sessions, deliveries, large messages, slow readers.",
        subcommands: [
            Generate.self, MixedLoad.self, FolderScan.self, IdleSessions.self, LargeMessage.self, SlowReaders.self,
            Report.self,
        ])
}
