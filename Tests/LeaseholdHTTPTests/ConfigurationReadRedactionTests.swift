import LeaseholdCore
@testable import LeaseholdService
import Testing

/// What configuration reads show of values that may hold credentials.
@Suite("Redaction in configuration reads")
struct ConfigurationReadRedactionTests {
    @Test("a webhook URL shows its scheme, host and port only: chat and SIEM tokens ride in the path or the query")
    func webhookURLs() {
        let shown = { AuditSinkSettings.displayedValue(of: "url", $0) }
        #expect(shown("https://hooks.slack.com/services/T0/B0/SECRETTOKEN") == "https://hooks.slack.com/redacted")
        #expect(shown("https://user:pw@siem.example.com:8443/in?token=SECRET") == "https://siem.example.com:8443/redacted?redacted")
        #expect(shown("https://siem.example.com") == "https://siem.example.com")
        #expect(shown("https://siem.example.com/") == "https://siem.example.com")
        #expect(shown("not a url with SECRET") == "redacted")
        #expect(AuditSinkSettings.displayedValue(of: "header.Authorization", "Bearer SECRET") == "redacted")
        #expect(AuditSinkSettings.displayedValue(of: "file_path", "/var/log/leasehold/audit.log") == "/var/log/leasehold/audit.log")
    }

    @Test("a connection URL never shows a literal password, in the user part or in a parameter")
    func connectionURLs() {
        let shown = DatabaseConnection.redacted
        #expect(shown("postgresql://admin:s3cret@db:5432/app") == "postgresql://admin:xxxxx@db:5432/app")
        #expect(!shown("postgresql://{{username}}:{{password}}@db/app").contains("xxxxx"))
        #expect(!shown("postgresql://admin@db/app?password=s3cret&sslmode=require").contains("s3cret"))
        #expect(!shown("postgresql://admin@db/app?SSLPASSWORD=s3cret").contains("s3cret"))
        #expect(shown("postgresql://admin@db/app?sslmode=verify-full") == "postgresql://admin@db/app?sslmode=verify-full")
        #expect(shown("host=db password=s3cret %zz") == "<redacted>")
    }
}
