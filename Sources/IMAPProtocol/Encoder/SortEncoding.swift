import NIOCore

/// RFC 5256 §4 `sort-data` and `thread-data`.
extension ResponseEncoder {
    /// `"SORT" *(SP nz-number)`: the numbers in sort order; an empty result is a bare
    /// `* SORT`.
    func writeSort(_ numbers: [UInt32], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("* SORT")
        for number in numbers {
            writeSpace(into: &buffer)
            writeNumber(number, into: &buffer)
        }
    }

    /// `"THREAD" [SP 1*thread-list]`: a bare `* THREAD` when nothing matched.
    func writeThread(_ threads: [ThreadNode], into buffer: inout ByteBuffer) {
        buffer.writeStaticString("* THREAD")
        guard !threads.isEmpty else { return }
        writeSpace(into: &buffer)
        buffer.writeString(ThreadNode.format(threads))
    }
}
