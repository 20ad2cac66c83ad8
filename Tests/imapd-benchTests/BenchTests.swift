import Glibc
import NIOCore
import Testing

@testable import imapd_bench

@Suite struct ResponseFramerTests {
    func responses(_ chunks: [String]) throws -> [IMAPResponse] {
        var framer = ResponseFramer()
        var out: [IMAPResponse] = []
        for chunk in chunks {
            framer.append(Array(chunk.utf8))
            while let response = try framer.next() { out.append(response) }
        }
        return out
    }

    @Test func classifiesTaggedUntaggedAndContinuation() throws {
        let got = try responses(["* OK ready\r\n+ go ahead\r\nb1 OK done\r\nb2 no [TRYCREATE] x\r\n"])
        #expect(
            got.map(\.kind) == [
                .untagged, .continuation, .tagged(tag: "b1", status: .ok), .tagged(tag: "b2", status: .no),
            ])
        #expect(got[0].isUntaggedOK)
    }

    @Test func literalsAreCountedNotKeptAcrossChunks() throws {
        // The literal is split over three chunks, one of them inside the CRLF.
        let got = try responses(["* 1 FETCH (BODY[] {10}\r", "\n0123", "456789)\r\nb1 OK x\r\n"])
        #expect(got.count == 2)
        #expect(got[0].literalBytes == 10)
        #expect(String(decoding: got[0].text, as: UTF8.self) == "* 1 FETCH (BODY[] {10})")
        #expect(got[1].kind == .tagged(tag: "b1", status: .ok))
    }

    @Test func literal8AndNonSynchronizingLiteralsAreLiterals() {
        #expect(ResponseFramer.trailingLiteralSize(Array("* 1 FETCH (BINARY[] ~{42}".utf8)) == 42)
        #expect(ResponseFramer.trailingLiteralSize(Array("x {7+}".utf8)) == 7)
        #expect(ResponseFramer.trailingLiteralSize(Array("* OK {not}".utf8)) == nil)
        #expect(ResponseFramer.trailingLiteralSize(Array("* OK done".utf8)) == nil)
    }

    @Test func untaggedNumbersAndBAD() throws {
        let got = try responses(["* 12 EXISTS\r\n* 3 expunge\r\n* BAD what\r\n* 4 FETCH (FLAGS ())\r\n"])
        #expect(got[0].untaggedNumber("EXISTS") == 12)
        #expect(got[1].untaggedNumber("EXPUNGE") == 3)
        #expect(got[0].untaggedNumber("EXPUNGE") == nil)
        #expect(got[2].isUntaggedBAD)
        #expect(!got[3].isUntaggedBAD)
        #expect(got[3].untaggedNumber("FETCH") == 4)
    }

    /// Scenario (b) reads UIDNEXT from SELECT and checks SORT/THREAD listed every message.
    @Test func responseCodesAndListedNumbers() throws {
        let got = try responses([
            "* OK [UIDNEXT 100001] Predicted next UID\r\n* OK [UIDVALIDITY 7] x\r\n* SORT 3 1 22\r\n",
            "* THREAD (1 2)(3 (4)(5 66))\r\n* SORT\r\n* 5 FETCH (UID 9)\r\n",
        ])
        #expect(got[0].responseCode("UIDNEXT") == 100001)
        #expect(got[1].responseCode("UIDNEXT") == nil)
        #expect(got[1].responseCode("UIDVALIDITY") == 7)
        #expect(got[2].isUntagged("SORT") && got[2].numberCount == 3)
        #expect(got[3].isUntagged("THREAD") && got[3].numberCount == 6)
        #expect(got[4].isUntagged("SORT") && got[4].numberCount == 0)
        #expect(!got[5].isUntagged("SORT") && got[5].responseCode("UIDNEXT") == nil)
    }

    @Test func aLineThatIsNoResponseIsAnError() {
        #expect(throws: FramingError.self) { try responses(["garbage\r\n"]) }
        #expect(throws: FramingError.self) { try responses(["b1 MAYBE\r\n"]) }
    }

    @Test func incompleteInputWaits() throws {
        #expect(try responses(["* 1 EXI"]).isEmpty)
        #expect(try responses(["* 1 FETCH (BODY[] {5}\r\nabc"]).isEmpty)
    }
}

@Suite struct StatisticsTests {
    @Test func nearestRankPercentiles() {
        let values: [UInt64] = Array(1...100)
        #expect(Percentile.nearestRank(values, 50) == 50)
        #expect(Percentile.nearestRank(values, 99) == 99)
        #expect(Percentile.nearestRank(values, 100) == 100)
        #expect(Percentile.nearestRank([7], 99) == 7)
        #expect(Percentile.nearestRank([], 50) == nil)
        #expect(Percentile.nearestRank([1, 2, 3], 0) == 1)
    }

    @Test func medianOfRounds() {
        #expect(Percentile.median([3, 1, 2]) == 2)
        #expect(Percentile.median([4, 1, 2, 3]) == 2.5)
        #expect(Percentile.median([]) == nil)
    }

    @Test func recorderMergesAndSummarises() {
        var a = LatencyRecorder()
        var b = LatencyRecorder()
        for ms in 1...4 { a.record("FETCH", nanoseconds: UInt64(ms) * 1_000_000) }
        b.record("FETCH", nanoseconds: 10_000_000)
        b.record("STORE", nanoseconds: 2_000_000)
        a.merge(b)
        let rows = a.summaries(seconds: 2)
        #expect(rows.map(\.command) == ["FETCH", "STORE"])
        #expect(rows[0].count == 5)
        #expect(rows[0].perSecond == 2.5)
        #expect(rows[0].p50Ms == 3)
        #expect(rows[0].maxMs == 10)
        #expect(a.overall(seconds: 2).count == 6)
    }
}

@Suite struct ProfileTests {
    @Test func parsesWeightsAndDrawsByCumulativeRange() throws {
        let profile = try Profile(parsing: "select=1, fetch-flags=3,idle=0")
        #expect(profile.totalWeight == 4)
        #expect(profile.operation(forDraw: 0) == .select)
        #expect(profile.operation(forDraw: 1) == .fetchFlags)
        #expect(profile.operation(forDraw: 3) == .fetchFlags)
        #expect(profile.operation(forDraw: 4) == .select)
        #expect(profile.specification == "select=1,fetch-flags=3")
    }

    @Test func frequenciesFollowWeights() throws {
        let profile = try Profile(parsing: "store=1,append=3")
        var rng = SplitMix64(seed: 42)
        var counts: [Operation: Int] = [:]
        for _ in 0..<4000 { counts[profile.pick(using: &rng), default: 0] += 1 }
        // Exact for this seed: the generator is deterministic.
        #expect(counts[.store, default: 0] + counts[.append, default: 0] == 4000)
        #expect(counts[.append, default: 0] > 2 * counts[.store, default: 0])
        #expect(counts.keys.count == 2)
    }

    @Test func rejectsBadSpecifications() {
        #expect(throws: ProfileError.unknownOperation("fly")) { try Profile(parsing: "fly=1") }
        #expect(throws: ProfileError.malformed("store")) { try Profile(parsing: "store") }
        #expect(throws: ProfileError.repeated("store")) { try Profile(parsing: "store=1,store=2") }
        #expect(throws: ProfileError.noPositiveWeight) { try Profile(parsing: "store=0") }
        #expect(throws: Never.self) { try Profile(parsing: Profile.defaultSpecification) }
    }

    @Test func seededGeneratorIsReproducible() {
        var a = SplitMix64(seed: 9)
        var b = SplitMix64(seed: 9)
        #expect((0..<5).map { _ in a.next() } == (0..<5).map { _ in b.next() })
    }
}

@Suite struct ReportTests {
    func result(_ server: String, _ round: Int, _ value: Double, scenario: String = "a-10", better: Better = .higher)
        -> ScenarioResult
    {
        var r = ScenarioResult(scenario: scenario, server: server, round: round)
        r.metrics = [
            Metric(
                name: scenario.contains("@") ? "p50" : scenario.hasPrefix("a") ? "commands/s" : "warm SELECT+FETCH",
                value: value, unit: "", better: better)
        ]
        return r
    }

    /// (b)'s phases come in several files of one scenario and round: their rows keep the
    /// order the files were given in (compare.sh names them so), whatever the servers.
    @Test func rowsOfOneScenarioAndRoundKeepTheGivenOrder() {
        func run(_ server: String, _ names: [String]) -> ScenarioResult {
            var r = ScenarioResult(scenario: "b", server: server, round: 1)
            r.metrics = names.map { Metric(name: $0, value: 1, unit: "ms", better: .lower) }
            return r
        }
        let names = ["first-ever SELECT", "cold SELECT", "cold UID SORT", "warm SELECT", "index bytes/message"]
        let results = [
            run("dovecot", [names[0]]), run("imapd-maildir", [names[0]]), run("imapd-maildir", [names[1], names[2]]),
            run("dovecot", [names[1], names[2]]), run("dovecot", [names[3]]), run("imapd-maildir", [names[3]]),
            run("imapd-maildir", [names[4]]), run("dovecot", [names[4]]),
        ]
        let rows = Ratio.rows(results, ours: "imapd-maildir", theirs: "dovecot")
        #expect(rows.map(\.metric) == names)
        #expect(rows.allSatisfy { $0.ratio == 1 })
    }

    @Test func ratiosUseMediansAndDirection() {
        let rows = Ratio.rows(
            [
                result("imapd-maildir", 1, 300), result("imapd-maildir", 2, 100), result("imapd-maildir", 3, 200),
                result("dovecot", 1, 100), result("dovecot", 2, 100),
            ], ours: "imapd-maildir", theirs: "dovecot")
        #expect(rows.count == 1)
        #expect(rows[0].ours == 200)
        #expect(rows[0].ratio == 2)
        #expect(rows[0].met == true)
        #expect(rows[0].rounds == 3)
        let lower = Ratio.rows(
            [
                result("imapd-maildir", 1, 50, scenario: "b", better: .lower),
                result("dovecot", 1, 100, scenario: "b", better: .lower),
            ],
            ours: "imapd-maildir", theirs: "dovecot")
        #expect(lower[0].ratio == 2)
        #expect(lower[0].met == false)  // target 3×
        #expect(Ratio.of(ours: 0, theirs: 5, better: .lower) == nil)
        #expect(Ratio.of(ours: 5, theirs: 0, better: .higher) == nil)
    }

    /// (a)'s open-loop runs ("a-10@800") judge latency, ours at or below Dovecot's; the
    /// closed-loop runs judge throughput. The offered rate itself has no target.
    @Test func openLoopRunsJudgeLatencyClosedLoopRunsThroughput() {
        #expect(Target.of(scenario: "a-10@800", metric: "p50") == .ratioAtLeast(1))
        #expect(Target.of(scenario: "a-50@800", metric: "p99") == .ratioAtLeast(1))
        #expect(Target.of(scenario: "a-50@800", metric: "commands/s") == nil)
        #expect(Target.of(scenario: "a-50@800", metric: "errors") == .oursAtMost(0))
        #expect(Target.of(scenario: "a-10", metric: "commands/s") == .ratioAtLeast(1.5))
        #expect(Target.of(scenario: "a-10", metric: "p50") == nil)
        let slower = Ratio.rows(
            [
                result("imapd-maildir", 1, 1.2, scenario: "a-10@800", better: .lower),
                result("dovecot", 1, 1.0, scenario: "a-10@800", better: .lower),
            ], ours: "imapd-maildir", theirs: "dovecot")
        #expect(slower[0].met == false)
    }

    @Test func resultsRoundTripThroughJSON() throws {
        var r = result("dovecot", 2, 12.5)
        r.errorSamples = ["b1 BAD"]
        let back = try ScenarioResult.decode(try r.encoded())
        #expect(back.metric("commands/s")?.value == 12.5)
        #expect(back.errorSamples == ["b1 BAD"])
        #expect(back.round == 2)
    }

    @Test func tableFormatting() {
        #expect(Table.format(1234.4) == "1234")
        #expect(Table.format(12.345) == "12.3")
        #expect(Table.format(1.005) == "1.00" || Table.format(1.005) == "1.01")
        #expect(Table.format(0.5) == "0.500")
        #expect(Table.render(header: ["a", "bb"], rows: [["xyz", "1"]]) == "a    bb\nxyz   1\n")
    }
}

@Suite struct ProcFSAndGeneratorTests {
    @Test func parsesProcFields() {
        #expect(ProcFS.kibField("Pss", in: "Rss:  100 kB\nPss:   42 kB\n") == 42)
        #expect(ProcFS.kibField("VmHWM", in: "VmRSS:\t 10 kB\n") == nil)
        #expect(ProcFS.kibField("VmRSS", in: "Name:\timap\nVmRSS:\t   10 kB\n") == 10)
        #expect(ProcFS.parentPID(statLine: "123 (imap (x) y) S 77 123 0") == 77)
        let tree = ProcFS.descendants(of: 1, parents: [2: 1, 3: 2, 4: 9, 5: 1]).sorted()
        #expect(tree == [1, 2, 3, 5])
    }

    @Test func generatedMessagesAreVariedAndSized() {
        var rng = SplitMix64(seed: 1)
        var types = Set<String>()
        for i in 0..<60 {
            let m = MessageFactory.message(index: i, small: false, rng: &rng)
            let text = String(decoding: m, as: UTF8.self)
            #expect(text.contains("\n\n"))
            #expect(!text.contains("\r"))
            #expect(MessageFactory.virtualSize(m) == m.count + m.filter { $0 == 10 }.count)
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("Content-Type:") }) {
                types.insert(String(line.split(separator: ";")[0]))
            }
        }
        #expect(types.count >= 3)
        let big = MessageFactory.large(size: 1_000_000, seed: 1)
        #expect(abs(big.count - 1_000_000) < 2000)
        #expect(MessageFactory.date(1_700_000_000) == "Tue, 14 Nov 2023 22:13:20 +0000")
    }
}

@Suite struct GenerateTests {
    /// `generate --uidlist`: UID n names the n-th message's base (before `:2,`), in cur/
    /// or new/, and N is one past the last, so every server given a copy has the same UIDs.
    @Test func uidlistGivesEveryMessageItsIndexAsUID() throws {
        var template = Array("/tmp/imapd-bench-generate.XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let root = String(cString: try #require(made))
        defer {
            for sub in ["/u/cur", "/u/new", "/u/tmp"] {
                for name in (try? FileIO.list(root + sub)) ?? [] { unlink(root + sub + "/" + name) }
                rmdir(root + sub)
            }
            unlink(root + "/u/dovecot-uidlist")
            rmdir(root + "/u")
            rmdir(root)
        }
        var rng = SplitMix64(seed: 6)
        try Generate.writeMaildir(root: root + "/u", count: 60, small: true, uidlist: true, rng: &rng)
        let lines = String(decoding: try FileIO.read(root + "/u/dovecot-uidlist"), as: UTF8.self)
            .split(separator: "\n")
        #expect(lines.first == "3 V1700000000 N61 G\(Generate.uidlistGUID)")
        #expect(lines.count == 61)
        let files = try FileIO.list(root + "/u/cur") + FileIO.list(root + "/u/new")
        let bases = Set(files.map { String($0.split(separator: ":", maxSplits: 1)[0]) })
        for (n, line) in lines.dropFirst().enumerated() {
            let fields = line.split(separator: " ", maxSplits: 1)
            #expect(fields[0] == "\(n + 1)")
            #expect(bases.contains(String(fields[1].dropFirst())))
        }
        #expect(try FileIO.list(root + "/u/new").count == 60 / 50)
    }
}
