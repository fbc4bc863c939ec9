/// The routes of each mountable secrets-engine type, relative to the mount path.
enum EngineRoutes {
    static func routes(for mount: MountEntry) -> [Route] {
        switch mount.type {
        case "database": DatabaseBackend.routes
        default: []
        }
    }
}
