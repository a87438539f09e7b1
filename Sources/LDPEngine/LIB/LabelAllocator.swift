// Local label allocation over the configured range: a free list plus a high-water mark, so
// allocating and freeing are O(1). Labels handed back while a peer may still hold them are not
// given to the allocator until that peer released them (see `PendingRelease`).

struct LabelAllocator: Sendable {
    private(set) var range: ClosedRange<UInt32>
    /// The lowest label of `range` never handed out (range.upperBound + 1 when all were).
    private var highWater: UInt32
    /// Labels handed out before and given back since.
    private var freeLabels: [UInt32] = []
    /// Labels at or above `highWater` that are still taken: only after a range change, when
    /// labels of the old range remain bound inside the new one.
    private var takenAboveHighWater: Set<UInt32> = []

    init(range: ClosedRange<UInt32>) {
        self.range = range
        self.highWater = range.lowerBound
    }

    /// A new allocator over `range` that will not hand out any of `labelsInUse`.
    init(range: ClosedRange<UInt32>, labelsInUse: some Sequence<UInt32>) {
        self.init(range: range)
        takenAboveHighWater = Set(labelsInUse.filter { range.contains($0) })
    }

    var hasFreeLabel: Bool {
        !freeLabels.isEmpty || UInt64(highWater) + UInt64(takenAboveHighWater.count) <= UInt64(range.upperBound)
    }

    mutating func allocate() -> UInt32? {
        if let label = freeLabels.popLast() { return label }
        while highWater <= range.upperBound {
            let label = highWater
            highWater += 1
            if takenAboveHighWater.remove(label) == nil { return label }
        }
        return nil
    }

    /// Gives a label back. Labels outside the current range are dropped (a range change).
    mutating func free(_ label: UInt32) {
        guard range.contains(label) else { return }
        if label < highWater {
            freeLabels.append(label)
        } else {
            // Taken before the range change; the high-water scan will now hand it out.
            takenAboveHighWater.remove(label)
        }
    }
}
