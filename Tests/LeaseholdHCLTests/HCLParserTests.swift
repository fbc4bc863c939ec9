import Testing

@testable import LeaseholdHCL

@Suite("HCL syntax")
struct HCLParserTests {
    @Test func attributesOfEveryType() throws {
        let document = try HCL.parse(
            """
            name = "app"   # comment
            count = 3
            ratio = -1.5e2
            enabled = true
            disabled = false
            "quoted key" = "x"
            list = ["a", "b",]
            empty = []
            nested = { inner = 1, other = "two" }
            """
        )
        #expect(document["name"] == .string("app"))
        #expect(document["count"] == .number(3))
        #expect(document["ratio"] == .number(-150))
        #expect(document["enabled"] == .bool(true))
        #expect(document["disabled"] == .bool(false))
        #expect(document["quoted key"] == .string("x"))
        #expect(document["list"] == .list([.string("a"), .string("b")]))
        #expect(document["empty"] == .list([]))
        #expect(document["nested"]?.objectValue?["other"] == .string("two"))
        #expect(
            document.keys == ["name", "count", "ratio", "enabled", "disabled", "quoted key", "list", "empty", "nested"]
        )
    }

    @Test func blocksWithLabelsNestOnePerLabel() throws {
        let document = try HCL.parse(
            """
            path "secret/*" { capabilities = ["read"] }
            path "sys/mounts" {
              capabilities = ["list"]
            }
            two "l1" "l2" { x = 1 }
            bare { y = 2 }
            ident label { z = 3 }
            """
        )
        let paths = try document.blocks(named: "path", labelCount: 1)
        #expect(paths.map(\.labels) == [["secret/*"], ["sys/mounts"]])
        #expect(paths[1].body["capabilities"] == .list([.string("list")]))
        let two = try document.blocks(named: "two", labelCount: 2)
        #expect(two == [HCLBlock(labels: ["l1", "l2"], body: HCLObject([.init(key: "x", value: .number(1))]))])
        #expect(try document.blocks(named: "bare", labelCount: 0).first?.body["y"] == .number(2))
        #expect(try document.blocks(named: "ident", labelCount: 1).first?.labels == ["label"])
    }

    @Test func repeatedBlocksAreKeptInOrder() throws {
        let document = try HCL.parse(
            """
            listener "tcp" { address = "a" }
            listener "tcp" { address = "b" }
            """
        )
        let listeners = try document.blocks(named: "listener", labelCount: 1)
        #expect(listeners.map { $0.body["address"] } == [.string("a"), .string("b")])
    }

    @Test func stringEscapes() throws {
        let document = try HCL.parse(#"s = "a\"b\\c\nd\te\u00e9\U0001F600""#)
        #expect(document["s"] == .string("a\"b\\c\nd\te\u{e9}\u{1F600}"))
    }

    @Test func heredocs() throws {
        let document = try HCL.parse(
            """
            plain = <<EOF
              line one
            line two
            EOF
            indented = <<-EOT
                first
                  second
                EOT
            after = 1
            """
        )
        #expect(document["plain"] == .string("  line one\nline two\n"))
        #expect(document["indented"] == .string("first\n  second\n"))
        #expect(document["after"] == .number(1))
    }

    @Test func comments() throws {
        let document = try HCL.parse(
            """
            // line comment
            /* block
               comment */ a = 1 # trailing
            b = /* inline */ 2
            """
        )
        #expect(document.keys == ["a", "b"])
    }

    @Test func jsonFormGivesTheSameTreeAsHCL() throws {
        let hcl = try HCL.parse(
            """
            path "secret/*" {
              capabilities = ["read", "list"]
            }
            ttl = 30
            flag = true
            """
        )
        let json = try HCL.parse(
            json: #"{"path": {"secret/*": {"capabilities": ["read", "list"]}}, "ttl": 30, "flag": true}"#
        )
        #expect(hcl == json)
    }

    @Test func jsonListFormOfBlocks() throws {
        let json = try HCL.parse(
            json: #"{"listener": [{"tcp": {"address": "a"}}, {"tcp": {"address": "b"}}]}"#
        )
        #expect(
            try json.blocks(named: "listener", labelCount: 1).map { $0.body["address"] } == [
                .string("a"), .string("b"),
            ]
        )
    }

    @Test func jsonStringsAndNumbers() throws {
        let json = try HCL.parse(json: #"{"s": "\u00e9\ud83d\ude00\n\/", "n": -0.5e1, "z": 0}"#)
        #expect(json["s"] == .string("\u{e9}\u{1F600}\n/"))
        #expect(json["n"] == .number(-5))
        #expect(json["z"] == .number(0))
    }

    @Test func duplicateAttributesAreRejectedWithTheirPosition() throws {
        let error = try #require(throws: HCLError.self) { try HCL.parse("a = 1\n  a = 2\n") }
        #expect(error.description == #"2:3: duplicate key "a""#)
        let jsonError = try #require(throws: HCLError.self) {
            try HCL.parse(json: #"{"path": {"x": {}, "x": {}}}"#)
        }
        #expect(jsonError.description == #"1:20: duplicate key "x""#)
        #expect(throws: HCLError.self) { try HCL.parse("a = 1\na { }") }
    }

    @Test func duplicatesCanBeAllowed() throws {
        let options = HCL.ParseOptions(rejectsDuplicateAttributes: false)
        let document = try HCL.parse("a = 1\na = 2", options: options)
        #expect(document.values(for: "a") == [.number(1), .number(2)])
        let json = try HCL.parse(json: #"{"a": 1, "a": 2}"#, options: options)
        #expect(json.values(for: "a") == [.number(1), .number(2)])
    }

    @Test(arguments: [
        ("a = ", "1:5: expected a value, found end of input"),
        ("a = \"x", "1:5: unterminated string"),
        ("a = \"x\ny\"", "1:5: unterminated string"),
        ("a = bare", "1:5: expected a value, found a bare word (strings must be quoted)"),
        ("a = [1 2]", "1:8: expected ',' or ']' in list, found '2'"),
        ("block {\n a = 1\n", "3:1: unclosed block: expected '}'"),
        ("a = \"\\q\"", "1:7: invalid escape sequence"),
        ("/* open", "1:1: unterminated comment"),
        ("a = <<EOF\nno end\n", "1:5: unterminated heredoc: missing \"EOF\""),
        ("a = 1.2.3", "1:8: expected key, found '.'"),
        ("= 1", "1:1: expected key, found '='"),
        ("a = \"\\uD800\"", "1:7: invalid escape: not a Unicode scalar"),
    ])
    func hclErrors(source: String, message: String) throws {
        let error = try #require(throws: HCLError.self) { try HCL.parse(source) }
        #expect(error.description == message)
    }

    @Test(arguments: [
        ("[]", "1:1: expected a JSON object, found '['"),
        ("{\"a\": null}", "1:7: null is not supported"),
        ("{\"a\": 01}", "1:7: invalid number: leading zero"),
        ("{\"a\": 1,}", "1:9: expected a string key, found '}'"),
        ("{\"a\": [1,]}", "1:10: expected a value, found ']'"),
        ("{\"a\": \"x\ty\"}", "1:9: control character in string"),
        ("{\"a\": \"\\ud800\"}", "1:9: invalid escape: unpaired surrogate"),
        ("{\"a\": tru}", "1:7: invalid literal"),
        ("{} x", "1:4: unexpected 'x' after the document"),
        ("{\"a\" 1}", "1:6: expected ':', found '1'"),
    ])
    func jsonErrors(source: String, message: String) throws {
        let error = try #require(throws: HCLError.self) { try HCL.parse(json: source) }
        #expect(error.description == message)
    }

    @Test func sizeAndDepthLimits() throws {
        let big = "a = \"" + String(repeating: "x", count: 1 << 20) + "\""
        #expect(throws: HCLError("document exceeds 1048576 bytes")) { try HCL.parse(big) }
        let deep = "a = " + String(repeating: "[", count: 65) + String(repeating: "]", count: 65)
        let error = try #require(throws: HCLError.self) { try HCL.parse(deep) }
        #expect(error.message == "nesting exceeds the maximum depth of 64")
        let deepJSON = "{\"a\":" + String(repeating: "[", count: 64) + String(repeating: "]", count: 64) + "}"
        #expect(throws: HCLError.self) { try HCL.parse(json: deepJSON) }
        // Block labels nest too: half a million of them were a value that deep (its release overflowed the stack).
        let labelled = "path \"x\" " + String(repeating: "a ", count: 500_000) + "{}"
        let labels = try #require(throws: HCLError.self) { try HCL.parse(labelled) }
        #expect(labels.message == "nesting exceeds the maximum depth of 64")
        #expect(try HCL.parse("path \"x\" " + String(repeating: "a ", count: 62) + "{}").keys == ["path"])
        let fine = "a = " + String(repeating: "[", count: 64) + String(repeating: "]", count: 64)
        #expect(try HCL.parse(fine).keys == ["a"])
    }

    @Test func blocksOfTheWrongShapeAreReported() throws {
        let document = try HCL.parse("path = \"x\"")
        let error = try #require(throws: HCLError.self) { try document.blocks(named: "path", labelCount: 1) }
        #expect(error.description == "path: expected a block, found a string")
    }

    @Test func errorExcerptsAreShortAndSanitized() {
        #expect(HCLError.excerpt("a\u{0}b\"c") == #""a?b?c""#)
        #expect(HCLError.excerpt(String(repeating: "x", count: 40), limit: 4) == "\"xxxx…\"")
    }

    @Test func detectsJSON() {
        #expect(HCL.looksLikeJSON("  \n{\"a\":1}"))
        #expect(!HCL.looksLikeJSON("path \"a\" {}"))
    }
}
