/// The routes of each mountable secrets-engine type.
enum EngineRegistry {
    /// The routes a mount serves; the database engine's routes arrive with the dynamic-credentials work.
    static func routes(for mount: MountEntry) -> [Route] {
        switch mount.type {
        default: []
        }
    }
}
