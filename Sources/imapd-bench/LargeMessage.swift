// `imapd-bench big`: FETCH BODY[] of a large message, then APPEND of one of the same
// size; throughput and the server's peak RSS during each (scenario e). The peak is
// VmHWM summed over the server's process tree, reset just before each command
// (/proc/<pid>/clear_refs), so it is the peak of that command alone.
import ArgumentParser
import NIOCore
import NIOPosix

struct LargeMessage: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "big", abstract: "FETCH BODY[] and APPEND of a large message: MB/s and peak RSS (scenario e).")

    @OptionGroup var options: RunOptions
    @Option(help: "User whose INBOX holds the large message as message 1.") var user = "big"
    @Option(help: "Size of the APPENDed message in bytes.") var appendSize = 50 * 1024 * 1024
    @Option(help: "Server process (Dovecot: the master); its tree is measured.") var serverPid: Int32

    func run() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: options.threads)
        let message = ByteBuffer(bytes: MessageFactory.large(size: appendSize, seed: 7))
        let pid = serverPid
        var result = ScenarioResult(scenario: options.scenario ?? "e", server: options.server, round: options.round)
        let figures = try await Connector.withClient(options.address, group: group) { client in
            _ = try await client.command("LOGIN \(quoted(user)) \(quoted(options.password))")
            _ = try await client.command("EXAMINE INBOX")
            let resetFetch = ProcFS.resetPeak(ofTree: pid)
            let beforeFetch = ProcFS.memory(ofTree: pid)
            var t = now()
            let fetched = try await client.command("FETCH 1 BODY[]")
            let fetchSeconds = Double(now() - t) / 1e9
            let afterFetch = ProcFS.memory(ofTree: pid)
            let resetAppend = ProcFS.resetPeak(ofTree: pid)
            let beforeAppend = ProcFS.memory(ofTree: pid)
            t = now()
            _ = try await client.append(mailbox: "INBOX", flags: "\\Seen", message: message)
            let appendSeconds = Double(now() - t) / 1e9
            let afterAppend = ProcFS.memory(ofTree: pid)
            try await client.logout()
            return (
                fetched.literalBytes, fetchSeconds, beforeFetch, afterFetch, appendSeconds, beforeAppend, afterAppend,
                resetFetch && resetAppend
            )
        }
        let (bytes, fetchSeconds, beforeFetch, afterFetch, appendSeconds, beforeAppend, afterAppend, reset) = figures
        let mib = 1024.0 * 1024.0
        result.metrics = [
            Metric(name: "FETCH MB/s", value: Double(bytes) / mib / fetchSeconds, unit: "MiB/s", better: .higher),
            Metric(
                name: "FETCH peak RSS growth", value: Double(afterFetch.hwmKiB - beforeFetch.rssKiB) / 1024,
                unit: "MiB",
                better: .lower),
            Metric(name: "FETCH peak RSS", value: Double(afterFetch.hwmKiB) / 1024, unit: "MiB", better: .lower),
            Metric(
                name: "APPEND MB/s", value: Double(message.readableBytes) / mib / appendSeconds, unit: "MiB/s",
                better: .higher),
            Metric(
                name: "APPEND peak RSS growth", value: Double(afterAppend.hwmKiB - beforeAppend.rssKiB) / 1024,
                unit: "MiB", better: .lower),
            Metric(name: "APPEND peak RSS", value: Double(afterAppend.hwmKiB) / 1024, unit: "MiB", better: .lower),
        ]
        result.notes = [
            "FETCH BODY[] of \(bytes) bytes, APPEND of \(message.readableBytes) bytes; RSS summed over "
                + "\(afterFetch.processes) server processes; growth = peak (VmHWM) minus RSS before the command"
        ]
        if !reset { result.notes.append("could not reset VmHWM (not root or not the owner): peaks are lifetime peaks") }
        if bytes == 0 {
            result.errors += 1
            result.errorSamples.append("FETCH BODY[] returned no literal")
        }
        try options.finish(result)
    }
}
