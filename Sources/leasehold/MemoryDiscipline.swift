import Glibc

/// Keeps the allocator from holding on to memory the broker no longer uses.
///
/// glibc gives each thread that allocates its own arena and keeps freed pages in them; a server with many worker
/// threads then keeps the high-water mark of a burst (a large revoke-force, a 100,000-lease fill) long after it
/// is over. Two arenas are enough for two event loops and the concurrency pool, and a periodic `malloc_trim`
/// returns free pages to the kernel. `mallopt` and `malloc_trim` live in `<malloc.h>`, which Swift's Glibc
/// module does not expose, so they are looked up by name (absent on other C libraries: then nothing happens).
enum MemoryDiscipline {
    private typealias MalloptFunction = @convention(c) (Int32, Int32) -> Int32
    private typealias MallocTrimFunction = @convention(c) (Int) -> Int32

    /// glibc's `M_ARENA_MAX`.
    private static let arenaMaximumParameter: Int32 = -8

    /// Limits glibc to two malloc arenas; call before any thread starts.
    static func limitArenas() {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "mallopt") else { return }
        _ = unsafeBitCast(symbol, to: MalloptFunction.self)(arenaMaximumParameter, 2)
    }

    /// Returns free heap pages to the kernel.
    static func trim() {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return }
        _ = unsafeBitCast(symbol, to: MallocTrimFunction.self)(0)
    }
}

