import CYaml

/// Refuses YAML anchors and aliases before a document is composed. Role templates have no use for them, and they
/// are how a few hundred bytes become billions of nodes: Yams composes an alias as a shared node, but hashes
/// mapping keys to find duplicates, so an alias used as a key is walked in full (a "billion laughs" file pinned a
/// core in the roles loader for hours). This reads libyaml's events (the parser Yams itself runs on, `CYaml`),
/// which costs time linear in the text.
enum YAMLAliasCheck {
    /// What the check found.
    enum Outcome: Equatable {
        /// No anchor or alias (the document may still be invalid: composing it reports that).
        case clean
        /// An anchor (`&name`) or alias (`*name`) at the given 1-based line.
        case aliasOrAnchor(line: Int)
        /// The parser could not be set up, so nothing was checked.
        case unchecked
    }

    /// Scans `text` (UTF-8); stops at the first anchor or alias, or at a syntax error (left to the composer).
    static func scan(_ text: String) -> Outcome {
        var parser = yaml_parser_t()
        guard yaml_parser_initialize(&parser) == 1 else { return .unchecked }
        defer { yaml_parser_delete(&parser) }
        let bytes = Array(text.utf8)
        return bytes.withUnsafeBufferPointer { buffer -> Outcome in
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)
            var event = yaml_event_t()
            while yaml_parser_parse(&parser, &event) == 1 {
                defer { yaml_event_delete(&event) }
                let line = Int(event.start_mark.line) + 1
                switch event.type {
                case YAML_ALIAS_EVENT: return .aliasOrAnchor(line: line)
                case YAML_SCALAR_EVENT where event.data.scalar.anchor != nil,
                    YAML_SEQUENCE_START_EVENT where event.data.sequence_start.anchor != nil,
                    YAML_MAPPING_START_EVENT where event.data.mapping_start.anchor != nil:
                    return .aliasOrAnchor(line: line)
                case YAML_STREAM_END_EVENT: return .clean
                default: continue
                }
            }
            return .clean
        }
    }
}
