import LeaseholdCore
import Testing

@Suite("Bounded cache")
struct BoundedCacheTests {
    @Test func computesOnceKeepsAtMostItsCapacityAndForgetsNothingItCouldNotCompute() {
        let cache = BoundedCache<String, Int>(capacity: 3)
        var computed = 0
        #expect(cache.value(for: "a") { computed += 1; return 1 } == 1)
        #expect(cache.value(for: "a") { computed += 1; return 99 } == 1)
        #expect(computed == 1)
        #expect(cache.value(for: "bad") { nil } == nil)
        #expect(cache.count == 1)
        cache.remember(2, for: "b")
        cache.remember(3, for: "c")
        cache.remember(30, for: "c")  // replacing an entry never resets
        #expect(cache.count == 3 && cache.value(for: "c") == 30)
        cache.remember(4, for: "d")  // full: starts over
        #expect(cache.count == 1 && cache.value(for: "a") == nil && cache.value(for: "d") == 4)
    }
}
