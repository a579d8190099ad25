/// SQL expressions more than one store uses.
enum SQLExpressions {
    /// The sum of an integer column that saturates at the ends of INTEGER instead of failing:
    /// SQLite's `sum()` raises "integer overflow" (https://sqlite.org/lang_aggfunc.html#sumunc),
    /// which would make every later write to the trace or session fail. `total()` adds in
    /// floating point (exact up to 2^53, far past any real token count) and a CAST of a REAL
    /// beyond INTEGER gives the nearest end (https://sqlite.org/lang_expr.html#castexpr). An
    /// empty set sums to 0.
    static func saturatingSum(_ column: String) -> String {
        "CAST(total(\(column)) AS INTEGER)"
    }
}
