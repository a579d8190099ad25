import Model

/// Page-based pagination (langfuse-api.md §1.1): `page` ≥ 1 (default 1), `limit` 1…100
/// (default 50); anything else is a 400.
struct Paging {
    let page: Int
    let limit: Int

    var offset: Int { (page - 1) * limit }

    init(_ query: QueryParameters, maxLimit: Int = 100) throws {
        page = try Self.integer(query["page"], name: "page", default: 1, range: 1...1_000_000)
        limit = try Self.integer(query["limit"], name: "limit", default: 50, range: 1...maxLimit)
    }

    private static func integer(_ text: String?, name: String, default value: Int, range: ClosedRange<Int>) throws -> Int {
        guard let text else { return value }
        guard let number = Int(text), range.contains(number) else {
            throw APIError.badRequest("Invalid request data: \(name) must be an integer in \(range.lowerBound)...\(range.upperBound)")
        }
        return number
    }

    /// `{"data": [...], "meta": {page, limit, totalItems, totalPages}}`.
    func response(_ data: [JSONValue], totalItems: Int) -> JSONValue {
        .object([
            ("data", .array(data)),
            ("meta", .object([
                ("page", JSONValue(page)), ("limit", JSONValue(limit)), ("totalItems", JSONValue(totalItems)),
                ("totalPages", JSONValue((totalItems + limit - 1) / limit)),
            ])),
        ])
    }
}

extension QueryParameters {
    /// A datetime parameter as epoch milliseconds; 400 when present and not ISO-8601 with an offset.
    func millis(_ name: String) throws -> Int64? {
        guard let text = self[name] else { return nil }
        guard let millis = Timestamp.parseMillis(text) else {
            throw APIError.badRequest("Invalid request data: \(name) must be an ISO-8601 datetime with Z or an offset")
        }
        return millis
    }

    /// Values of one multi-valued parameter at most (each becomes a bound SQL value).
    static let maxListValues = 100

    /// Every value of a multi-valued parameter (`?environment=a&environment=b`, or `a,b`); 400
    /// past `maxListValues`.
    func list(_ name: String) throws -> [String] {
        let values = values(name).flatMap { $0.split(separator: ",").map(String.init) }.filter { !$0.isEmpty }
        guard values.count <= Self.maxListValues else {
            throw APIError.badRequest("Invalid request data: \(name) takes at most \(Self.maxListValues) values")
        }
        return values
    }

    /// A number parameter; 400 when present and not a finite number.
    func finiteNumber(_ name: String) throws -> Double? {
        guard let text = self[name] else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw APIError.badRequest("Invalid request data: \(name) must be a finite number")
        }
        return value
    }

    /// `orderBy=<field>.<asc|desc>`, validated against `fields`.
    func orderBy(default field: String, descending: Bool, fields: Set<String>) throws -> (String, Bool) {
        guard let text = self["orderBy"] else { return (field, descending) }
        let parts = text.split(separator: ".", maxSplits: 1).map(String.init)
        guard parts.count == 2, fields.contains(parts[0]), parts[1] == "asc" || parts[1] == "desc" else {
            throw APIError.badRequest(
                "Invalid request data: orderBy must be <field>.<asc|desc> with field one of \(fields.sorted().joined(separator: ", "))")
        }
        return (parts[0], parts[1] == "desc")
    }
}
