import Foundation
import TestSupport
import Testing

/// Compressed test bodies made at test time with the system `gzip`, so that no opaque binary
/// blobs live in the sources. zlib-wrapped and raw deflate are cut out of gzip's output: a gzip
/// member is a 10-byte header, a raw deflate stream, then CRC-32 and ISIZE (RFC 1952 §2.3).
enum CompressionFixtures {
    struct CommandFailed: Error, CustomStringConvertible {
        var description: String
    }

    /// `data` as one gzip member, without a file name or time stamp (`gzip -n`).
    static func gzip(_ data: [UInt8]) throws -> [UInt8] {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("parley-gzip-\(UUID().uuidString)")
        try Data(data).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        return try run("/usr/bin/env", ["gzip", "-c", "-n", file.path])
    }

    /// `count` zero bytes, gzipped without ever holding them in this process.
    static func gzippedZeros(count: Int) throws -> [UInt8] {
        try run("/bin/sh", ["-c", "head -c \(count) /dev/zero | gzip -c -n -9"])
    }

    /// `data` as a raw deflate stream (RFC 1951), as some clients send for `deflate`.
    static func rawDeflate(_ data: [UInt8]) throws -> [UInt8] {
        let member = try gzip(data)
        // With -n gzip sets no optional header fields (FLG = 0), so the header is exactly 10 bytes.
        guard member.count >= 18, member[0] == 0x1F, member[1] == 0x8B, member[3] == 0 else {
            throw CommandFailed(description: "unexpected gzip header \(member.prefix(10))")
        }
        return Array(member[10..<(member.count - 8)])
    }

    /// `data` as a zlib stream (RFC 1950), which is what RFC 9110 §8.4.1.2 calls `deflate`.
    static func zlib(_ data: [UInt8]) throws -> [UInt8] {
        // CMF 0x78 = deflate with a 32 KiB window; FLG 0x9C makes CMF*256+FLG a multiple of 31.
        var stream: [UInt8] = [0x78, 0x9C]
        stream += try rawDeflate(data)
        let checksum = adler32(data)
        stream += [UInt8(checksum >> 24), UInt8((checksum >> 16) & 0xFF), UInt8((checksum >> 8) & 0xFF), UInt8(checksum & 0xFF)]
        return stream
    }

    /// The uncompressed size a gzip member declares in its ISIZE trailer (modulo 2^32).
    static func declaredSize(ofGzip member: [UInt8]) -> UInt32 {
        member.suffix(4).reversed().reduce(0) { $0 << 8 | UInt32($1) }
    }

    /// Adler-32, RFC 1950 §8.
    static func adler32(_ data: [UInt8]) -> UInt32 {
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in data {
            a = (a + UInt32(byte)) % 65521
            b = (b + a) % 65521
        }
        return b << 16 | a
    }

    private static func run(_ executable: String, _ arguments: [String]) throws -> [UInt8] {
        try ExternalTool.serially { try launch(executable, arguments) }
    }

    private static func launch(_ executable: String, _ arguments: [String]) throws -> [UInt8] {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let output = Pipe()
        process.standardOutput = output
        try process.run()
        // Read before waiting: a full pipe would otherwise block the child forever.
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw CommandFailed(description: "\(executable) \(arguments) exited with \(process.terminationStatus)")
        }
        return [UInt8](data)
    }
}

/// Peak resident memory of this process (`VmHWM`), so a test can check that something did not
/// allocate a large buffer.
enum PeakMemory {
    /// Lowers the recorded peak to the current resident size (proc(5), `/proc/pid/clear_refs`
    /// value 5). Returns false where that is not permitted; the peak then only ever grows.
    static func reset() -> Bool {
        guard let handle = FileHandle(forWritingAtPath: "/proc/self/clear_refs") else { return false }
        defer { try? handle.close() }
        do {
            try handle.write(contentsOf: Data("5".utf8))
            return true
        } catch {
            return false
        }
    }

    /// `VmHWM` from `/proc/self/status`, in bytes.
    static func peakBytes() -> Int? {
        guard let handle = FileHandle(forReadingAtPath: "/proc/self/status") else { return nil }
        defer { try? handle.close() }
        let status = String(decoding: handle.readDataToEndOfFile(), as: UTF8.self)
        guard let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmHWM:") }),
              let kilobytes = Int(line.dropFirst("VmHWM:".count).filter(\.isNumber))
        else { return nil }
        return kilobytes * 1024
    }
}
