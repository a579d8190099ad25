/// Deterministic choices derived from the input itself (SplitMix64 seeded with its FNV-1a hash),
/// so a saved crash input replays exactly: the same chunk boundaries, the same limits.
struct InputRandom {
    private var state: UInt64

    init(_ input: [UInt8]) {
        // FNV-1a 64-bit offset basis and prime.
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in input { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
        state = hash
    }

    /// SplitMix64 (Steele, Lea and Flood, 2014): the increment and the two multipliers are its constants.
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A value in `range`.
    mutating func next(in range: ClosedRange<Int>) -> Int {
        range.lowerBound + Int(next() % UInt64(range.count))
    }
}
