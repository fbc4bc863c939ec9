import Foundation
import LeaseholdCore

/// Active leases per role over a window, rebuilt from lease events and the leases active now, drawn as an inline
/// SVG line chart (no scripts).
struct ActiveLeaseChart {
    /// One line of the chart.
    struct Series {
        var role: String
        var counts: [Int]
    }

    static let bucketCount = 48
    static let palette = ["#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7480", "#57606a"]

    let window: Range<Date>
    let series: [Series]

    /// The last 24 hours up to `end`.
    static func window(endingAt end: Date) -> Range<Date> { end.addingTimeInterval(-86_400)..<end }

    /// Builds the series from lease `events` (audit records, oldest first) and the `active` leases.
    init(events: [JSONValue], active: [JSONValue], window: Range<Date>) {
        self.window = window
        struct Interval {
            var role: String
            var start: Date
            var end: Date?
        }
        var intervals: [String: Interval] = [:]
        let activeIDs = Set(active.compactMap { $0.objectValue?["lease_id"]?.stringValue })
        for lease in active {
            let fields = lease.objectValue ?? [:]
            guard let id = fields["lease_id"]?.stringValue else { continue }
            let issued = fields["issued_at"]?.stringValue.flatMap(Self.date) ?? window.lowerBound
            intervals[id] = Interval(role: fields["role"]?.stringValue ?? "", start: max(issued, window.lowerBound), end: nil)
        }
        for event in events {
            let fields = event.objectValue ?? [:]
            let details = fields["details"]?.objectValue ?? [:]
            guard let id = details["lease_id"]?.stringValue, let type = fields["type"]?.stringValue,
                let time = fields["time"]?.stringValue.flatMap(Self.date)
            else { continue }
            let role = details["role"]?.stringValue ?? ""
            if type == LeaseEventType.issue {
                intervals[id, default: Interval(role: role, start: time, end: nil)].start = time
            } else if LeaseEventType.endings.contains(type), !activeIDs.contains(id) {
                intervals[id, default: Interval(role: role, start: window.lowerBound, end: nil)].end = time
            }
        }
        let step = window.upperBound.timeIntervalSince(window.lowerBound) / Double(Self.bucketCount)
        let instants = (1...Self.bucketCount).map { window.lowerBound.addingTimeInterval(Double($0) * step) }
        var byRole: [String: [Int]] = [:]
        for interval in intervals.values {
            var counts = byRole[interval.role] ?? Array(repeating: 0, count: Self.bucketCount)
            for (index, instant) in instants.enumerated() where interval.start <= instant && (interval.end.map { $0 > instant } ?? true) {
                counts[index] += 1
            }
            byRole[interval.role] = counts
        }
        series = byRole.keys.sorted().map { Series(role: $0, counts: byRole[$0] ?? []) }
    }

    static func date(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text)
    }

    /// The chart as an SVG element with an accessible title, one `<polyline>` per role and a legend.
    func svg() -> String {
        let width = 760.0, height = 240.0, left = 40.0, right = 150.0, top = 16.0, bottom = 28.0
        let plotWidth = width - left - right, plotHeight = height - top - bottom
        let maximum = max(1, series.flatMap(\.counts).max() ?? 0)
        func x(_ index: Int) -> Double { left + plotWidth * Double(index + 1) / Double(Self.bucketCount) }
        func y(_ count: Int) -> Double { top + plotHeight * (1 - Double(count) / Double(maximum)) }
        var parts = [
            "<svg id=\"active-chart\" role=\"img\" viewBox=\"0 0 \(Int(width)) \(Int(height))\" xmlns=\"http://www.w3.org/2000/svg\">",
            "<title>Active leases per role, last 24 hours</title>",
            "<line x1=\"\(left)\" y1=\"\(top + plotHeight)\" x2=\"\(left + plotWidth)\" y2=\"\(top + plotHeight)\" stroke=\"#999\"/>",
            "<line x1=\"\(left)\" y1=\"\(top)\" x2=\"\(left)\" y2=\"\(top + plotHeight)\" stroke=\"#999\"/>",
            "<text x=\"\(left - 6)\" y=\"\(top + 4)\" font-size=\"11\" text-anchor=\"end\">\(maximum)</text>",
            "<text x=\"\(left - 6)\" y=\"\(top + plotHeight)\" font-size=\"11\" text-anchor=\"end\">0</text>",
            "<text x=\"\(left)\" y=\"\(height - 8)\" font-size=\"11\">24 h ago</text>",
            "<text x=\"\(left + plotWidth)\" y=\"\(height - 8)\" font-size=\"11\" text-anchor=\"end\">now</text>",
        ]
        if series.isEmpty {
            parts.append("<text x=\"\(left + plotWidth / 2)\" y=\"\(top + plotHeight / 2)\" font-size=\"13\" text-anchor=\"middle\">no leases in the last 24 hours</text>")
        }
        for (index, line) in series.enumerated() {
            let color = Self.palette[index % Self.palette.count]
            let points = line.counts.indices.map { "\(x($0)),\(y(line.counts[$0]))" }.joined(separator: " ")
            let role = HTMLText.escape(line.role)
            parts.append("<polyline class=\"series\" data-role=\"\(role)\" fill=\"none\" stroke=\"\(color)\" stroke-width=\"2\" points=\"\(points)\"/>")
            parts.append("<text x=\"\(left + plotWidth + 10)\" y=\"\(top + 14 + Double(index) * 16)\" font-size=\"12\" fill=\"\(color)\">\(role) (\(line.counts.last ?? 0))</text>")
        }
        parts.append("</svg>")
        return parts.joined(separator: "\n")
    }
}
