/// The routes of each mountable auth-method type, relative to `auth/<mount>`.
enum AuthRoutes {
    static func routes(for mount: MountEntry) -> [Route] {
        switch mount.type {
        case "approle": AppRoleBackend.routes
        case "userpass": UserpassBackend.routes
        case "cert": CertBackend.routes
        case "jwt", "oidc": JWTBackend.routes
        case "kubernetes": KubernetesBackend.routes
        default: []
        }
    }
}
